// tests/runtime/log_test.cc — JSON-line log format (etcd/zap shape), escaping, level filtering, hex ids.
#include "runtime/log.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <regex>

namespace ringkv::log {
namespace {

TEST(Log, LineShape) {
  std::string line = format_line(log_level::info, "serving client traffic",
                                      {{"address", "127.0.0.1:2379"}, {"port", 2379}, {"ok", true},
                                       {"negative", -3}, {"ratio", 0.5},
                                       {"urls", std::vector<std::string>{"a", "b"}}},
                                      std::source_location::current());
  std::regex shape(
      R"re(\{"level":"info","ts":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","caller":"tests/runtime/log_test\.cc:\d+",)re"
      R"re("msg":"serving client traffic","address":"127\.0\.0\.1:2379","port":2379,"ok":true,"negative":-3,)re"
      R"re("ratio":0\.5,"urls":\["a","b"\]\}\n)re");
  EXPECT_TRUE(std::regex_match(line, shape)) << line;
}

TEST(Log, MemberIdsAreHexAsEtcdctlPrintsThem) {
  EXPECT_EQ(hex_id_text(0x8e9e05c52164694dULL), "8e9e05c52164694d");
  EXPECT_EQ(hex_id_text(0x1), "1");  // etcd's types.ID: no zero padding
  EXPECT_EQ(hex_id_text(0), "0");
  EXPECT_EQ(hex_id_text(UINT64_MAX), "ffffffffffffffff");
  std::string line = format_line(log_level::info, "became leader",
                                 {hex_id("local-member-id", 0x8e9e05c52164694dULL), {"term", uint64_t(2)}},
                                 std::source_location::current());
  EXPECT_NE(line.find(R"("msg":"became leader","local-member-id":"8e9e05c52164694d","term":2})"),
            std::string::npos)
      << line;
}

TEST(Log, LevelNamesRoundTrip) {
  for (auto level : {log_level::debug, log_level::info, log_level::warn, log_level::error, log_level::panic,
                     log_level::fatal}) {
    EXPECT_EQ(parse_log_level(to_string(level)), level);
  }
  EXPECT_EQ(parse_log_level("verbose"), std::nullopt);
}

TEST(Log, EscapesStrings) {
  std::string out;
  append_json_string(out, std::string("a\"b\\c\nd\x01", 8));
  EXPECT_EQ(out, R"("a\"b\\c\nd\u0001")");
}

TEST(Log, LevelFiltersAndWritesOneLinePerCall) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  set_output_fd(fds[1]);
  set_level(log_level::warn);
  info("hidden");
  warn("shown", {{"k", "v"}});
  set_level(log_level::info);
  set_output_fd(2);
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
}  // namespace ringkv::log
