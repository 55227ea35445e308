// tests/logagent/logagent_unit_test.cc - the agent's pieces without processes: the source schema and
// its defaults, the offsets file (durable round trip, fingerprint), and file_tailer on real files in a
// temp dir (line split, a line cut at max_line_bytes, multi-line merge, rename and copytruncate,
// backpressure resuming at the same byte, acknowledged-only offsets across a new tailer).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "logagent/file_tailer.h"
#include "logagent/offset_store.h"
#include "logagent/source_spec.h"

namespace ringkv::logagent {
namespace {

struct collected {
  std::string text;
  uint64_t end_offset;
  std::shared_ptr<file_progress> progress;
};

class collecting_emitter final : public record_emitter {
 public:
  size_t room = SIZE_MAX;  // records accepted before can_emit() says no
  std::vector<collected> records;
  bool can_emit() const override { return records.size() < room; }
  void emit(const std::string&, uint64_t, std::string_view text, const std::shared_ptr<file_progress>& progress,
            uint64_t end_offset) override {
    records.push_back({std::string(text), end_offset, progress});
  }
  std::vector<std::string> texts() const {
    std::vector<std::string> out;
    for (const auto& r : records) out.push_back(r.text);
    return out;
  }
};

class temp_dir {
 public:
  temp_dir() {
    char pattern[] = "/tmp/logagent-unit-XXXXXX";
    path = ::mkdtemp(pattern);
  }
  ~temp_dir() { std::system(("rm -rf " + path).c_str()); }
  std::string path;
};

void append(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::app) << text;
}

source_spec spec_for(const std::string& path) {
  auto parsed = parse_source("s", R"({"path":")" + path + R"(","topic":"t"})", {});
  EXPECT_TRUE(parsed.ok()) << parsed.error;
  return parsed.spec;
}

TEST(SourceSpec, ValidatesAndMergesDefaults) {
  EXPECT_EQ(parse_source("s", R"({"path":"/x","topik":"t"})", {}).error.find("topik") != std::string::npos, true);
  EXPECT_EQ(parse_source("s", R"({"path":"x.log","topic":"t"})", {}).error, "path must be an absolute file path or glob");
  EXPECT_EQ(parse_source("s", R"({"path":"/x"})", {}).error, "topic is required");
  EXPECT_FALSE(parse_source("s", R"({"path":"/x","topic":"t","multilineStart":"("})", {}).ok());
  EXPECT_FALSE(parse_source("s", R"({"path":"/x","topic":"t","maxLineBytes":99999999})", {}).ok());
  EXPECT_FALSE(parse_source("s", "not json", {}).ok());
  auto merged = parse_source("s", R"({"path":"/x","fields":{"a":"1"}})",
                             {{"base", R"({"topic":"d","maxLineBytes":100,"fields":{"b":"2"}})"}});
  ASSERT_TRUE(merged.ok()) << merged.error;
  EXPECT_EQ(merged.spec.topic, "d");
  EXPECT_EQ(merged.spec.max_line_bytes, 100u);
  EXPECT_EQ(merged.spec.fields.size(), 2u);
  EXPECT_FALSE(parse_source("s", R"({"path":"/x","topic":"t"})", {{"bad", "{"}}).ok());
}

TEST(OffsetStore, SavesDurablyAndLoads) {
  temp_dir dir;
  const std::string path = dir.path + "/offsets";
  {
    offset_store store(path);
    std::string error;
    ASSERT_TRUE(store.load(error)) << error;  // missing file: empty
    store.set({"app", 1, 2}, {64, 77, 1234});
    ASSERT_EQ(store.save(), 0);
  }
  offset_store again(path);
  std::string error;
  ASSERT_TRUE(again.load(error)) << error;
  auto mark = again.find({"app", 1, 2});
  ASSERT_TRUE(mark.has_value());
  EXPECT_EQ(mark->acked_offset, 1234u);
  EXPECT_EQ(mark->fingerprint, 77u);
  EXPECT_FALSE(again.find({"app", 1, 3}).has_value());
  std::ofstream(path) << "garbage\n";
  offset_store bad(path);
  EXPECT_FALSE(bad.load(error));
}

TEST(FileTailer, SplitsCutsAndResumesFromAcknowledgedOffsets) {
  temp_dir dir;
  const std::string log = dir.path + "/a.log";
  append(log, "one\ntwo\n" + std::string(300, 'L') + "\npartial");
  offset_store store(dir.path + "/offsets");
  agent_counters counters;
  source_spec spec = spec_for(log);
  spec.max_line_bytes = 100;
  collecting_emitter out;
  {
    file_tailer tailer(log, spec, store, counters);
    out.room = 2;  // backpressure: stops after two records and resumes at the same byte
    EXPECT_TRUE(tailer.poll(out));
    EXPECT_EQ(out.texts(), (std::vector<std::string>{"one", "two"}));
    out.room = SIZE_MAX;
    EXPECT_TRUE(tailer.poll(out));
    EXPECT_EQ(out.texts(), (std::vector<std::string>{"one", "two", std::string(100, 'L')}));  // "partial" waits
    EXPECT_EQ(counters.lines_truncated, 1u);
    out.records[0].progress->acked(out.records[0].end_offset);  // only "one" acknowledged
  }
  file_tailer restarted(log, spec, store, counters);
  collecting_emitter again;
  EXPECT_TRUE(restarted.poll(again));
  EXPECT_EQ(again.texts(), (std::vector<std::string>{"two", std::string(100, 'L')}));
}

TEST(FileTailer, MergesMultiLineRecords) {
  temp_dir dir;
  const std::string log = dir.path + "/m.log";
  append(log, "start 1\n  more\n  more\nstart 2\n");
  offset_store store(dir.path + "/offsets");
  agent_counters counters;
  source_spec spec = spec_for(log);
  spec.multiline_start = "^start";
  file_tailer tailer(log, spec, store, counters);
  collecting_emitter out;
  tailer.poll(out);
  EXPECT_EQ(out.texts(), (std::vector<std::string>{"start 1\n  more\n  more"}));  // "start 2" is pending
  ::usleep(static_cast<useconds_t>(std::chrono::microseconds(file_tailer::multiline_timeout).count()) + 50000);
  tailer.poll(out);
  EXPECT_EQ(out.texts().back(), "start 2");
}

TEST(FileTailer, FollowsRenameAndCopytruncate) {
  temp_dir dir;
  const std::string log = dir.path + "/r.log";
  append(log, "a1\n");
  offset_store store(dir.path + "/offsets");
  agent_counters counters;
  const source_spec spec = spec_for(log);
  file_tailer tailer(log, spec, store, counters);
  collecting_emitter out;
  tailer.poll(out);
  append(log, "a2\na3-unterminated");
  ASSERT_EQ(std::rename(log.c_str(), (log + ".1").c_str()), 0);
  append(log, "b1\n");
  tailer.poll(out);  // drains the renamed file (its last line too), then opens the new one
  tailer.poll(out);
  EXPECT_EQ(out.texts(), (std::vector<std::string>{"a1", "a2", "a3-unterminated", "b1"}));
  append(log, "b2\nb3\n");
  tailer.poll(out);
  std::ofstream(log, std::ios::trunc) << "c1\n";  // copytruncate: shorter than what was read
  tailer.poll(out);
  tailer.poll(out);
  EXPECT_EQ(out.texts().back(), "c1");
  std::remove(log.c_str());
  EXPECT_FALSE(tailer.poll(out));  // gone and read to its end
  ASSERT_EQ(::mkdir(log.c_str(), 0755), 0);  // there but not a file it can read
  file_tailer unreadable(log, spec, store, counters);
  EXPECT_TRUE(unreadable.poll(out));  // kept (tried again each poll), with the reason for the status
  EXPECT_NE(unreadable.error().find("not a regular file"), std::string::npos);
}

}  // namespace
}  // namespace ringkv::logagent
