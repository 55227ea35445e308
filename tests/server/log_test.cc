// tests/server/log_test.cc — JSON-line log format (etcd/zap shape), escaping, level filtering.
#include "server/common/log.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <regex>

namespace ringkv::server {
namespace {

TEST(Log, LineShape) {
  std::string line = log::format_line(log_level::info, "serving client traffic",
                                      {{"address", "127.0.0.1:2379"}, {"port", 2379}, {"ok", true},
                                       {"negative", -3}, {"ratio", 0.5},
                                       {"urls", std::vector<std::string>{"a", "b"}}},
                                      std::source_location::current());
  std::regex shape(
      R"re(\{"level":"info","ts":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","caller":"tests/server/log_test\.cc:\d+",)re"
      R"re("msg":"serving client traffic","address":"127\.0\.0\.1:2379","port":2379,"ok":true,"negative":-3,)re"
      R"re("ratio":0\.5,"urls":\["a","b"\]\}\n)re");
  EXPECT_TRUE(std::regex_match(line, shape)) << line;
}

TEST(Log, EscapesStrings) {
  std::string out;
  log::append_json_string(out, std::string("a\"b\\c\nd\x01", 8));
  EXPECT_EQ(out, R"("a\"b\\c\nd\u0001")");
}

TEST(Log, LevelFiltersAndWritesOneLinePerCall) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  log::set_output_fd(fds[1]);
  log::set_level(log_level::warn);
  log::info("hidden");
  log::warn("shown", {{"k", "v"}});
  log::set_level(log_level::info);
  log::set_output_fd(2);
  close(fds[1]);
  char buffer[512];
  ssize_t n = read(fds[0], buffer, sizeof buffer);
  close(fds[0]);
  ASSERT_GT(n, 0);
  std::string text(buffer, size_t(n));
  EXPECT_EQ(text.find("hidden"), std::string::npos);
  EXPECT_NE(text.find(R"("level":"warn")"), std::string::npos);
  EXPECT_NE(text.find(R"("msg":"shown","k":"v"})"), std::string::npos);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1);
}

}  // namespace
}  // namespace ringkv::server
