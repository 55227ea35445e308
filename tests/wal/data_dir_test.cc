// Recognizing ringkv's own data dir files (storage/wal/data_dir.h): the marker, segment headers with and
// without a torn checksum, etcd's files under the same folder and name patterns, unknown files; and the
// WAL and snapshot store leaving every file that is not positively theirs exactly as it was.
#include "storage/wal/data_dir.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "storage/wal/errors.h"
#include "storage/wal/record.h"
#include "storage/wal/recovery.h"
#include "storage/wal/snapshot_store.h"
#include "tests/wal/wal_test_support.h"

namespace ringkv::storage::wal {
namespace {

using testing::run_on_runtime;
using testing::temp_dir;
namespace fs = std::filesystem;

constexpr const char* etcd_segment = "0000000000000000-0000000000000000.wal";

// The first 16 bytes of etcd 3.4's first WAL segment: an 8-byte frame length (4, with 4 padding bytes
// flagged in the top byte), then walpb.Record{type: crcType, crc: 0} and its padding.
std::vector<std::byte> etcd_wal_head() {
  const uint8_t bytes[] = {0x04, 0, 0, 0, 0, 0, 0, 0x84, 0x08, 0x04, 0x10, 0x00, 0, 0, 0, 0};
  std::vector<std::byte> head(file_head_bytes);
  std::memcpy(head.data(), bytes, sizeof bytes);
  return head;
}

std::vector<std::byte> ringkv_segment_head(segment_id id) {
  std::vector<std::byte> head(record_bytes(segment_header_body_bytes));
  segment_header_body h;
  h.segment_seq = id.seq;
  h.first_index = id.first_index;
  h.segment_bytes = 1 << 20;
  h.write_bytes_limit = 64 << 10;
  encode_segment_header(head.data(), h);
  return head;
}

std::vector<std::byte> bytes_of(std::string_view text) {
  std::vector<std::byte> out(text.size());
  std::memcpy(out.data(), text.data(), text.size());
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void write_file(const std::string& path, std::string_view bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

TEST(DataDir, MarkerRoundTripsAndRejectsAnythingElse) {
  EXPECT_EQ(data_dir_marker_content(1), "ringkv data dir format 1\n");
  EXPECT_EQ(parse_data_dir_marker(data_dir_marker_content(1)), 1u);
  EXPECT_EQ(parse_data_dir_marker(data_dir_marker_content(7)), 7u);
  for (std::string_view bad : {"", "ringkv data dir format 1", "ringkv data dir format \n",
                               "ringkv data dir format 0\n", "ringkv data dir format 01\n",
                               "ringkv data dir format 1\nmore\n", "etcd data dir format 1\n"}) {
    EXPECT_FALSE(parse_data_dir_marker(bad)) << bad;
  }
}

TEST(DataDir, SegmentHeaderIsRecognizedEvenWithATornChecksumButOnlyForItsOwnName) {
  const segment_id id{3, 1200};
  auto head = ringkv_segment_head(id);
  EXPECT_TRUE(looks_like_segment_header(head, id));
  head[2] ^= std::byte{0x40};  // the checksum: the header did not verify, but its fields are ringkv's
  EXPECT_TRUE(looks_like_segment_header(head, id));
  EXPECT_FALSE(looks_like_segment_header(head, segment_id{4, 1200}));
  EXPECT_FALSE(looks_like_segment_header(head, segment_id{3, 1201}));
  EXPECT_FALSE(looks_like_segment_header(std::span(head).first(40), id));  // cut short
  head[12] = std::byte{2};  // another record type
  EXPECT_FALSE(looks_like_segment_header(head, id));
  EXPECT_FALSE(looks_like_segment_header(etcd_wal_head(), segment_id{0, 0}));
}

TEST(DataDir, FilesAreClassifiedByFolderNameAndFirstBytes) {
  const std::vector<std::byte> none;
  const auto zeros = std::vector<std::byte>(file_head_bytes);
  const auto marker = bytes_of(data_dir_marker_content(1));
  const auto snapshot = bytes_of("RKVSNAP1 and the rest of a header");
  const auto identity = bytes_of("RKIDENT1........");
  const auto etcd_snap = bytes_of("\x08\xc4\x9b\xe1\x95\x01\x12\x80\x01");  // snappb.Snapshot{crc, data}
  struct expectation {
    std::string path;
    bool is_dir;
    std::vector<std::byte> head;
    file_kind kind;
  };
  const std::vector<expectation> cases = {
      {"ringkv.version", false, marker, file_kind::ringkv},
      {"ringkv.version", false, bytes_of("whatever\n"), file_kind::unknown},
      {"ringkv.version.tmp", false, none, file_kind::ringkv},
      {"member", true, none, file_kind::ringkv},
      {"member", false, none, file_kind::unknown},
      {"lost+found", true, none, file_kind::ignored},
      {"notes.txt", false, none, file_kind::ignored},
      {"member/wal", true, none, file_kind::ringkv},
      {"member/snap", true, none, file_kind::ringkv},
      {"member/ringkv-identity", false, identity, file_kind::ringkv},
      {"member/ringkv-identity", false, zeros, file_kind::unknown},
      {"member/ringkv-identity.tmp", false, none, file_kind::ringkv},
      {"member/other", false, none, file_kind::unknown},
      {"member/extra", true, none, file_kind::unknown},
      {"member/wal/next.wal.tmp", false, zeros, file_kind::ringkv},
      {"member/wal/0000000000000002-00000000000004b0.wal", false, ringkv_segment_head({2, 1200}), file_kind::ringkv},
      {"member/wal/0000000000000002-00000000000004b1.wal", false, ringkv_segment_head({2, 1200}), file_kind::unknown},
      {"member/wal/0000000000000001-0000000000000010.wal", false, zeros, file_kind::ringkv},  // never written
      {"member/wal/0000000000000001-0000000000000010.wal", false, none, file_kind::ringkv},   // empty file
      {std::string("member/wal/") + etcd_segment, false, etcd_wal_head(), file_kind::etcd},
      {"member/wal/0.tmp", false, zeros, file_kind::etcd},
      {"member/wal/1.wal", false, none, file_kind::unknown},
      {"member/wal/0000000000000000-0000000000000000.wal", false, bytes_of("garbage, neither's header"),
       file_kind::unknown},
      {"member/wal/stray.txt", false, none, file_kind::unknown},
      {"member/wal/sub", true, none, file_kind::unknown},
      {"member/snap/db", false, none, file_kind::etcd},
      {"member/snap/0000000000000011.snap.db", false, none, file_kind::etcd},
      {"member/snap/0000000000000002-0000000000002711.snap", false, etcd_snap, file_kind::etcd},
      {"member/snap/0000000000000002-0000000000002711.snap", false, snapshot, file_kind::ringkv},
      {"member/snap/0000000000000002-0000000000002711.snap", false, bytes_of("RKVSNAP2"), file_kind::unknown},
      {"member/snap/0000000000000002-0000000000002711.snap.tmp", false, none, file_kind::ringkv},
      {"member/snap/0000000000000002-0000000000002711.snap.broken", false, none, file_kind::ignored},
      {"member/snap/db.tmp", false, none, file_kind::unknown},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(classify_file(c.path, c.is_dir, c.head), c.kind) << c.path;
  }
}

data_dir_entry entry(std::string path, std::vector<std::byte> head = {}, bool is_dir = false) {
  return data_dir_entry{std::move(path), is_dir, std::move(head)};
}

TEST(DataDir, TheDirectoryVerdictRefusesEtcdAndUnknownFilesAndAcceptsRingkvsWithOrWithoutTheMarker) {
  EXPECT_EQ(classify_data_dir({}).kind, data_dir_kind::empty);
  EXPECT_EQ(classify_data_dir({entry("lost+found", {}, true)}).kind, data_dir_kind::empty);

  const std::vector<data_dir_entry> ours = {
      entry("member", {}, true), entry("member/wal", {}, true), entry("member/snap", {}, true),
      entry("member/wal/0000000000000000-0000000000000001.wal", ringkv_segment_head({0, 1})),
      entry("member/wal/next.wal.tmp", std::vector<std::byte>(file_head_bytes))};
  EXPECT_EQ(classify_data_dir(ours).kind, data_dir_kind::ringkv_unmarked);
  auto marked = ours;
  marked.push_back(entry("ringkv.version", bytes_of(data_dir_marker_content(1))));
  const auto verdict = classify_data_dir(marked);
  EXPECT_EQ(verdict.kind, data_dir_kind::ringkv);
  EXPECT_EQ(verdict.marker_version, 1u);
  EXPECT_EQ(verdict.found(), "");

  auto newer = ours;
  newer.push_back(entry("ringkv.version", bytes_of(data_dir_marker_content(data_dir_format_version + 1))));
  EXPECT_EQ(classify_data_dir(newer).kind, data_dir_kind::newer_format);

  auto stray = marked;
  stray.push_back(entry("member/wal/notes.txt"));
  const auto foreign = classify_data_dir(stray);
  EXPECT_EQ(foreign.kind, data_dir_kind::foreign);
  EXPECT_EQ(foreign.found(), "member/wal/notes.txt");

  // etcd 3.4's data dir, even with ringkv's marker beside it.
  auto etcd = marked;
  etcd.push_back(entry("member/snap/db"));
  etcd.push_back(entry(std::string("member/wal/") + etcd_segment, etcd_wal_head()));
  etcd.push_back(entry("member/wal/0.tmp"));
  etcd.push_back(entry("member/wal/extra"));
  const auto refused = classify_data_dir(etcd);
  EXPECT_EQ(refused.kind, data_dir_kind::etcd);
  EXPECT_EQ(refused.found(), std::string("member/snap/db, member/wal/") + etcd_segment + ", member/wal/0.tmp, "
                                         "member/wal/extra");
  EXPECT_EQ(refused.found(2), std::string("member/snap/db, member/wal/") + etcd_segment + ", ...");
}

TEST(DataDir, ScanReadsRealFilesAndTheMarkerIsWrittenOnceWithoutReplacingAnything) {
  temp_dir dir;
  EXPECT_TRUE(scan_data_dir(dir / "missing").empty());
  EXPECT_EQ(inspect_data_dir(dir.path()).kind, data_dir_kind::empty);
  write_file(dir / "member/wal/next.wal.tmp", std::string(4096, '\0'));
  fs::create_directories(dir / "member/snap");
  EXPECT_EQ(inspect_data_dir(dir.path()).kind, data_dir_kind::ringkv_unmarked);

  write_data_dir_marker(dir.path());
  EXPECT_EQ(read_file(dir / "ringkv.version"), "ringkv data dir format 1\n");
  EXPECT_FALSE(fs::exists(dir / "ringkv.version.tmp"));
  EXPECT_EQ(inspect_data_dir(dir.path()).kind, data_dir_kind::ringkv);
  EXPECT_THROW(write_data_dir_marker(dir.path()), wal_error);  // never over an existing file
  EXPECT_EQ(read_file(dir / "ringkv.version"), "ringkv data dir format 1\n");

  write_file(dir / "member/snap/db", "bbolt");
  const auto verdict = inspect_data_dir(dir.path());
  EXPECT_EQ(verdict.kind, data_dir_kind::etcd);
  EXPECT_EQ(verdict.found(), "member/snap/db");
}

// A last segment whose header is neither ringkv's nor zero is reported, not dropped as torn.
TEST(DataDir, RecoveryRefusesToDropALastSegmentThatIsNotRingkvs) {
  std::vector<std::byte> data(64 << 10);
  const auto head = etcd_wal_head();
  std::memcpy(data.data(), head.data(), head.size());
  log_rebuilder rebuilder(64 << 10);
  EXPECT_THROW(rebuilder.add_segment({0, 0}, etcd_segment, data, true), corruption_error);
}

TEST(DataDir, WalOpenLeavesAnEtcdSegmentAndUnknownFilesExactlyAsTheyWere) {
  temp_dir dir;
  std::string etcd_bytes(64 << 10, '\0');
  const auto head = etcd_wal_head();
  std::memcpy(etcd_bytes.data(), head.data(), head.size());
  etcd_bytes.replace(16, 20, "etcd's own record...");
  write_file(dir / etcd_segment, etcd_bytes);
  write_file(dir / "stray.txt", "an operator's note");
  wal_config config = testing::crash_config(dir.path());
  bool refused = false;
  run_on_runtime([&]() -> runtime::task<void> {
    try {
      auto opened = co_await write_ahead_log::open(config);
      co_await opened.log->close();
    } catch (const corruption_error&) {
      refused = true;
    }
  });
  EXPECT_TRUE(refused);
  EXPECT_EQ(read_file(dir / etcd_segment), etcd_bytes);
  EXPECT_EQ(read_file(dir / "stray.txt"), "an operator's note");
  EXPECT_FALSE(fs::exists(dir / "next.wal.tmp"));  // refused before anything was created
}

TEST(DataDir, WalOpenKeepsUnknownFilesBesideItsSegments) {
  temp_dir dir;
  write_file(dir / "stray.txt", "an operator's note");
  write_file(dir / "0.tmp", "etcd's preallocated segment");
  wal_config config = testing::crash_config(dir.path());
  run_on_runtime([&]() -> runtime::task<void> {
    for (int round = 0; round < 2; ++round) {  // create, then reopen
      auto opened = co_await write_ahead_log::open(config);
      const entry_view e{opened.recovered.entries.size() + 1, 1, 0, "x"};
      auto durable = opened.log->append(std::span(&e, 1), hard_state{1, 1, e.index});
      co_await std::move(durable);
      co_await opened.log->close();
    }
  });
  EXPECT_EQ(read_file(dir / "stray.txt"), "an operator's note");
  EXPECT_EQ(read_file(dir / "0.tmp"), "etcd's preallocated segment");
}

TEST(DataDir, SnapshotStoreNeverRemovesOrRenamesFilesItDidNotWrite) {
  temp_dir dir;
  const std::string etcd_snap = snapshot_file_name({2, 10001});
  write_file(dir / "db", "etcd's bbolt file");
  write_file(dir / "db.tmp", "not ours");
  write_file(dir / "0000000000000011.snap.db", "etcd's received snapshot");
  write_file(dir / etcd_snap, "etcd's raft snapshot, no ringkv header");
  bool refused = false;
  run_on_runtime([&]() -> runtime::task<void> {
    const snapshot_config config{dir.path(), 1};
    auto store = co_await snapshot_store::open(config);
    try {
      co_await store.load_newest();
    } catch (const wal_error&) {
      refused = true;
    }
    // Saving newer snapshots prunes older ones: only ringkv's own.
    co_await store.save({3, 20000}, "state 1");
    co_await store.save({3, 30000}, "state 2");
    co_await store.close();
  });
  EXPECT_TRUE(refused);
  EXPECT_EQ(read_file(dir / "db"), "etcd's bbolt file");
  EXPECT_EQ(read_file(dir / "db.tmp"), "not ours");
  EXPECT_EQ(read_file(dir / "0000000000000011.snap.db"), "etcd's received snapshot");
  EXPECT_EQ(read_file(dir / etcd_snap), "etcd's raft snapshot, no ringkv header");
  EXPECT_FALSE(fs::exists(dir / (etcd_snap + ".broken")));
  EXPECT_FALSE(fs::exists(dir / snapshot_file_name({3, 20000})));  // ours: pruned
  EXPECT_TRUE(fs::exists(dir / snapshot_file_name({3, 30000})));
}

}  // namespace
}  // namespace ringkv::storage::wal
