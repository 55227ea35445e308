// write_ahead_log on real files through the runtime: round trips across segment rollovers, group
// commit, in-place rewrite of the partial block, torn tails, corruption, raft suffix overwrites,
// fsync/write failure (fault injection) stopping the log, snapshot-driven release, and a fresh log's
// first segment being fully prepared (zero-filled, no unwritten extents) before open() returns.
#include "storage/wal/wal.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "runtime/io_faults.h"
#include "runtime/spawn.h"
#include "runtime/when_all.h"
#include "tests/wal/wal_test_support.h"

namespace ringkv::storage::wal {
namespace {

using testing::payload_for;
using testing::run_on_runtime;
using testing::temp_dir;
namespace fs = std::filesystem;

wal_config small_config(const std::string& dir) {
  wal_config c;
  c.dir = dir;
  c.segment_bytes = 1 << 20;
  c.write_bytes_limit = 64 << 10;
  c.prealloc = preallocation::fallocate_only;
  return c;
}

// Appends entries [first, last] in appends of `per_append` entries, `appenders` appends in flight.
runtime::task<void> append_range(write_ahead_log& log, uint64_t first, uint64_t last, uint64_t term,
                                 size_t per_append, size_t payload_bytes) {
  std::vector<runtime::task<void>> inflight;
  std::vector<std::string> payloads;
  std::vector<entry_view> views;
  for (uint64_t i = first; i <= last; i += per_append) {
    payloads.clear();
    views.clear();
    const uint64_t end = std::min(last, i + per_append - 1);
    for (uint64_t j = i; j <= end; ++j) payloads.push_back(payload_for(j, payload_bytes));
    for (uint64_t j = i; j <= end; ++j) views.push_back({j, term, 0, payloads[j - i]});
    inflight.push_back(log.append(views, hard_state{term, 1, i > 1 ? i - 1 : 0}));
    if (inflight.size() == 64) {
      co_await runtime::when_all(std::move(inflight));
      inflight.clear();
    }
  }
  if (!inflight.empty()) co_await runtime::when_all(std::move(inflight));
}

recovered_state reopen(const wal_config& config) {
  recovered_state out;
  run_on_runtime([&]() -> runtime::task<void> {
    auto opened = co_await write_ahead_log::open(config);
    out = std::move(opened.recovered);
    co_await opened.log->close();
  });
  return out;
}

void expect_entries(const std::vector<entry>& entries, uint64_t first, uint64_t last, size_t payload_bytes) {
  ASSERT_EQ(entries.size(), last - first + 1);
  for (uint64_t i = first; i <= last; ++i) {
    const entry& e = entries[i - first];
    ASSERT_EQ(e.index, i);
    ASSERT_EQ(e.payload, payload_for(i, payload_bytes)) << "index " << i;
  }
}

std::vector<std::string> segment_files(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (parse_segment_file_name(e.path().filename().string())) names.push_back(e.path().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(Wal, MillionsOfRecordsRoundTripAcrossSegmentRollovers) {
  temp_dir dir;
  wal_config config = small_config(dir.path());
  config.segment_bytes = 4 << 20;
  config.write_bytes_limit = 256 << 10;
  constexpr uint64_t count = 2'000'000;
  wal_stats stats;
  run_on_runtime([&]() -> runtime::task<void> {
    auto opened = co_await write_ahead_log::open(config);
    co_await append_range(*opened.log, 1, count, 1, 500, 16);
    stats = opened.log->stats();
    co_await opened.log->close();
  });
  EXPECT_GE(stats.segments_created, 18u);
  EXPECT_LT(stats.writes, stats.appends);  // group commit put several appends in one write
  auto recovered = reopen(config);
  expect_entries(recovered.entries, 1, count, 16);
  EXPECT_EQ(recovered.state.commit, count - 500);  // the last append (of 500) started at count - 499
  EXPECT_EQ(segment_files(dir.path()).size(), stats.segments_created);
}

TEST(Wal, ConcurrentAppendersShareWritesAndAreAckedOnlyWhenDurable) {
  temp_dir dir;
  const wal_config config = small_config(dir.path());
  wal_stats stats;
  uint64_t acked = 0;
  run_on_runtime([&]() -> runtime::task<void> {
    auto opened = co_await write_ahead_log::open(config);
    write_ahead_log& log = *opened.log;
    runtime::task_group group;
    uint64_t next = 1;
    for (int a = 0; a < 256; ++a) {
      group.spawn([](write_ahead_log& log, uint64_t& next, uint64_t& acked) -> runtime::task<void> {
        for (int k = 0; k < 20; ++k) {
          const uint64_t index = next++;
          const std::string p = payload_for(index, 256);
          const entry_view e{index, 1, 0, p};
          const uint64_t writes_before = log.stats().writes;
          co_await log.append(std::span(&e, 1));
          EXPECT_GT(log.stats().writes, writes_before);  // resumed only after a write+fdatasync finished
          ++acked;
        }
      }(log, next, acked));
    }
    co_await group.wait();
    stats = log.stats();
    co_await log.close();
  });
  EXPECT_EQ(acked, 256u * 20);
  EXPECT_LT(stats.writes * 10, stats.appends);
  expect_entries(reopen(config).entries, 1, 256 * 20, 256);
}

TEST(Wal, PartialBlockIsRewrittenInPlaceNotPadded) {
  temp_dir dir;
  const wal_config config = small_config(dir.path());
  wal_stats stats;
  run_on_runtime([&]() -> runtime::task<void> {
    auto opened = co_await write_ahead_log::open(config);
    for (uint64_t i = 1; i <= 300; ++i) {
      const std::string p = payload_for(i, 100);
      const entry_view e{i, 1, 0, p};
      co_await opened.log->append(std::span(&e, 1));
    }
    stats = opened.log->stats();
    co_await opened.log->close();
  });
  EXPECT_EQ(stats.writes, 300u);
  // 300 records of 136 bytes plus the 136-byte segment preamble fill 10 blocks: with padding per write
  // there would be ~300 blocks of data; rewriting in place keeps it contiguous.
  const uint64_t data_bytes = 300 * entry_record_bytes(100) + 136;
  const auto files = segment_files(dir.path());
  ASSERT_EQ(files.size(), 1u);
  std::ifstream in(files[0], std::ios::binary);
  std::vector<char> bytes(1 << 20);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  for (uint64_t i = data_bytes; i < bytes.size(); ++i) ASSERT_EQ(bytes[i], 0) << "offset " << i;
  EXPECT_NE(bytes[data_bytes - 1], 0);
  expect_entries(reopen(config).entries, 1, 300, 100);
}

TEST(Wal, FdatasyncObserverSeesEveryBatchBeforeItsAppendsAreAcknowledged) {
  temp_dir dir;
  wal_config config = small_config(dir.path());
  uint64_t observed = 0;
  uint64_t observed_bytes = 0;
  uint64_t observed_us_max = 0;
  config.on_fdatasync = [&](const fdatasync_observation& o) {
    ++observed;
    observed_bytes += o.bytes_written;
    EXPECT_EQ(o.bytes_written % block_bytes, 0u);
    EXPECT_GE(o.duration.count(), 0);
    observed_us_max = std::max(observed_us_max, static_cast<uint64_t>(o.duration.count()));
  };
  wal_stats stats;
  run_on_runtime([&]() -> runtime::task<void> {
    auto opened = co_await write_ahead_log::open(config);
    for (uint64_t i = 1; i <= 50; ++i) {
      const std::string p = payload_for(i, 300);
      const entry_view e{i, 1, 0, p};
      const uint64_t observed_before = observed;
      co_await opened.log->append(std::span(&e, 1));
      EXPECT_GT(observed, observed_before);  // the batch's fdatasync was observed before the ack
    }
    stats = opened.log->stats();
    co_await opened.log->close();
  });
  EXPECT_EQ(observed, stats.writes);
  EXPECT_EQ(observed_bytes, stats.bytes_written);
  EXPECT_EQ(observed_us_max, stats.fdatasync_us_max);
}

TEST(Wal, RaftSuffixOverwriteSurvivesReopen) {
  temp_dir dir;
  const wal_config config = small_config(dir.path());
  run_on_runtime([&]() -> runtime::task<void> {
    auto opened = co_await write_ahead_log::open(config);
    co_await append_range(*opened.log, 1, 10, 1, 10, 8);
    std::vector<entry_view> replacement = {{6, 2, 0, "six"}, {7, 2, 0, "seven"}};
    co_await opened.log->append(replacement, hard_state{2, 3, 5});
    EXPECT_EQ(opened.log->last_index(), 7u);
    EXPECT_THROW((void)opened.log->append(std::vector<entry_view>{{9, 2, 0, "gap"}}), wal_error);
    co_await opened.log->close();
  });
  auto recovered = reopen(config);
  ASSERT_EQ(recovered.entries.size(), 7u);
  EXPECT_EQ(recovered.entries[4].payload, payload_for(5, 8));
  EXPECT_EQ(recovered.entries[5].payload, "six");
  EXPECT_EQ(recovered.entries[6].term, 2u);
  EXPECT_EQ(recovered.state, (hard_state{2, 3, 5}));
}

// Writes a log whose last segment holds ~80 KiB, then for cuts in its last 64 KiB: truncate a copy of
// the file, reopen (repairing the tail), check the intact prefix, append more and reopen again.
void truncation_round(uint64_t stride) {
  temp_dir dir;
  const wal_config config = small_config(dir.path());
  constexpr uint64_t count = 600;
  run_on_runtime([&]() -> runtime::task<void> {
    auto opened = co_await write_ahead_log::open(config);
    co_await append_range(*opened.log, 1, count, 1, 1, 100);
    co_await opened.log->close();
  });
  const std::string segment = segment_files(dir.path()).at(0);
  std::vector<char> original(1 << 20);
  std::ifstream(segment, std::ios::binary).read(original.data(), static_cast<std::streamsize>(original.size()));
  const uint64_t preamble = 136;
  const uint64_t record = entry_record_bytes(100) + record_bytes(hard_state_body_bytes);
  const uint64_t end = preamble + count * record;

  for (uint64_t cut = end - (64 << 10); cut <= end; cut += stride) {
    temp_dir copy;
    const std::string copied = copy / fs::path(segment).filename().string();
    std::ofstream(copied, std::ios::binary).write(original.data(), static_cast<std::streamsize>(cut));
    wal_config c = config;
    c.dir = copy.path();
    const uint64_t intact = (cut - preamble) / record + ((cut - preamble) % record >= entry_record_bytes(100) ? 1 : 0);
    recovered_state first;
    run_on_runtime([&]() -> runtime::task<void> {
      auto opened = co_await write_ahead_log::open(c);
      first = std::move(opened.recovered);
      co_await append_range(*opened.log, intact + 1, intact + 5, 2, 1, 100);
      co_await opened.log->close();
    });
    ASSERT_NO_FATAL_FAILURE(expect_entries(first.entries, 1, intact, 100)) << "cut " << cut;
    ASSERT_NO_FATAL_FAILURE(expect_entries(reopen(c).entries, 1, intact + 5, 100)) << "cut " << cut;
  }
}

TEST(Wal, TruncationInTheLast64KiBRecoversEveryIntactPrefix) { truncation_round(1021); }
TEST(Wal, SlowTruncationAtDenseOffsetsOfTheLast64KiB) { truncation_round(16); }

void flip_bit(const std::string& path, uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x04);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

TEST(Wal, BitFlipMidLogIsReportedAsCorruptionWithFileAndOffset) {
  temp_dir dir;
  const wal_config config = small_config(dir.path());
  run_on_runtime([&]() -> runtime::task<void> {
    auto opened = co_await write_ahead_log::open(config);
    co_await append_range(*opened.log, 1, 30000, 1, 100, 64);
    co_await opened.log->close();
  });
  const auto files = segment_files(dir.path());
  ASSERT_GE(files.size(), 3u);
  for (const std::string& victim : {files[0], files.back()}) {
    const uint64_t offset = 300'000;
    flip_bit(victim, offset);
    try {
      reopen(config);
      ADD_FAILURE() << "corruption in " << victim << " not reported";
    } catch (const corruption_error& e) {
      EXPECT_EQ(e.file(), fs::path(victim).filename().string());
      EXPECT_LE(e.offset(), offset);
      EXPECT_GT(e.offset() + 200, offset);  // the record holding the flipped byte
    }
    flip_bit(victim, offset);  // undo, for the next victim
  }
  EXPECT_EQ(reopen(config).entries.size(), 30000u);
}

void failure_stops_log(runtime::io_op op, wal_sync sync) {
  temp_dir dir;
  wal_config config = small_config(dir.path());
  config.sync = sync;
  bool failed_append_threw = false, later_append_threw = false, stopped = false;
  run_on_runtime([&]() -> runtime::task<void> {
    auto opened = co_await write_ahead_log::open(config);
    write_ahead_log& log = *opened.log;
    co_await append_range(log, 1, 100, 1, 10, 32);
    runtime::io_faults::fail_next(op, EIO);
    try {
      co_await append_range(log, 101, 110, 1, 10, 32);
    } catch (const wal_error&) {
      failed_append_threw = true;
    }
    runtime::io_faults::clear();
    try {
      co_await append_range(log, 111, 111, 1, 1, 32);
    } catch (const wal_error&) {
      later_append_threw = true;
    }
    stopped = log.stopped();
    co_await log.close();
  });
  EXPECT_TRUE(failed_append_threw);
  EXPECT_TRUE(later_append_threw);
  EXPECT_TRUE(stopped);
  auto recovered = reopen(config);
  ASSERT_GE(recovered.entries.size(), 100u);  // everything acknowledged before the failure
  expect_entries(std::vector<entry>(recovered.entries.begin(), recovered.entries.begin() + 100), 1, 100, 32);
}

TEST(Wal, FdatasyncFailureStopsTheLogForGood) {
  failure_stops_log(runtime::io_op::fdatasync, wal_sync::write_then_fdatasync);
}
TEST(Wal, WriteFailureStopsTheLogForGood) {
  failure_stops_log(runtime::io_op::write, wal_sync::write_then_fdatasync);
}
TEST(Wal, DsyncWriteFailureStopsTheLogForGood) { failure_stops_log(runtime::io_op::write, wal_sync::dsync_write); }

// Out of descriptors (or memory, or space) when the next segment is prepared: the appends wait, the
// preparation is retried, and the log never stops; every append is acknowledged and recovered.
TEST(Wal, PreallocationShortageIsRetriedAndNeverStopsTheLog) {
  temp_dir dir;
  const wal_config config = small_config(dir.path());
  bool stopped = true;
  uint64_t retries = 0;
  run_on_runtime([&]() -> runtime::task<void> {
    auto opened = co_await write_ahead_log::open(config);
    write_ahead_log& log = *opened.log;
    co_await append_range(log, 1, 100, 1, 10, 100);
    runtime::io_faults::fail_next(runtime::io_op::openat, EMFILE);
    runtime::io_faults::fail_next(runtime::io_op::openat, ENFILE);
    runtime::io_faults::fail_next(runtime::io_op::openat, ENOSPC);
    co_await append_range(log, 101, 30000, 1, 50, 100);  // ~4 MiB: rollovers past the shortages
    stopped = log.stopped();
    retries = log.stats().prealloc_retries;
    runtime::io_faults::clear();
    co_await log.close();
  });
  EXPECT_FALSE(stopped);
  EXPECT_EQ(retries, 3u);
  expect_entries(reopen(config).entries, 1, 30000, 100);
}

// A preparation that fails with a disk error (not a shortage) stops the log, as any write failure does.
TEST(Wal, PreallocationDiskErrorStopsTheLog) {
  temp_dir dir;
  const wal_config config = small_config(dir.path());
  bool stopped = false, threw = false;
  run_on_runtime([&]() -> runtime::task<void> {
    auto opened = co_await write_ahead_log::open(config);
    write_ahead_log& log = *opened.log;
    co_await append_range(log, 1, 100, 1, 10, 32);
    runtime::io_faults::fail_next(runtime::io_op::openat, EIO);
    try {
      co_await append_range(log, 101, 30000, 1, 50, 100);
    } catch (const wal_error&) {
      threw = true;
    }
    stopped = log.stopped();
    runtime::io_faults::clear();
    co_await log.close();
  });
  EXPECT_TRUE(threw);
  EXPECT_TRUE(stopped);
}

TEST(Wal, SnapshotMarkerReleasesCoveredSegmentsAndRecoveryStartsAfterIt) {
  temp_dir dir;
  wal_config config = small_config(dir.path());
  config.segment_bytes = 256 << 10;
  size_t segments_before = 0, segments_after = 0;
  run_on_runtime([&]() -> runtime::task<void> {
    auto opened = co_await write_ahead_log::open(config);
    write_ahead_log& log = *opened.log;
    co_await append_range(log, 1, 20000, 3, 100, 64);
    segments_before = log.segments().size();
    co_await log.append_snapshot_marker({15000, 3});
    EXPECT_THROW((void)log.release(15001), wal_error);
    co_await log.release(15000);
    segments_after = log.segments().size();
    co_await append_range(log, 20001, 20100, 4, 10, 64);
    co_await log.close();
  });
  EXPECT_GT(segments_before, 3u);
  EXPECT_LT(segments_after, segments_before);
  EXPECT_EQ(segment_files(dir.path()).size(), segments_after);
  auto recovered = reopen(config);
  EXPECT_EQ(recovered.snapshot, (snapshot_marker{15000, 3}));
  EXPECT_EQ(recovered.state.term, 4u);
  EXPECT_LE(recovered.entries.front().index, 15001u);
  auto after = entries_after(std::move(recovered.entries), 15000);
  expect_entries(after, 15001, 20100, 64);
  EXPECT_THROW(entries_after(reopen(config).entries, 10), wal_error);  // released: cannot reach back
}

TEST(Wal, SnapshotBeyondTheLogRestartsIt) {
  temp_dir dir;
  const wal_config config = small_config(dir.path());
  run_on_runtime([&]() -> runtime::task<void> {
    auto opened = co_await write_ahead_log::open(config);
    co_await append_range(*opened.log, 1, 10, 1, 5, 8);
    co_await opened.log->append_snapshot_marker({500, 7});  // installed from the leader
    co_await append_range(*opened.log, 501, 510, 7, 5, 8);
    co_await opened.log->close();
  });
  auto recovered = reopen(config);
  expect_entries(recovered.entries, 501, 510, 8);
}

TEST(Wal, BadArgumentsAreRejectedWithoutQueueingAnything) {
  temp_dir dir;
  wal_config bad = small_config(dir.path());
  bad.write_bytes_limit = 5000;
  EXPECT_THROW(bad.validate(), wal_error);
  const wal_config config = small_config(dir.path());
  run_on_runtime([&]() -> runtime::task<void> {
    auto opened = co_await write_ahead_log::open(config);
    const std::string huge(config.entry_payload_bytes_max() + 1, 'x');
    EXPECT_THROW((void)opened.log->append(std::vector<entry_view>{{1, 1, 0, huge}}), wal_error);
    EXPECT_THROW((void)opened.log->append(std::vector<entry_view>{{1, 1, 0, "a"}, {3, 1, 0, "b"}}), wal_error);
    EXPECT_EQ(opened.log->stats().appends, 0u);
    co_await opened.log->close();
  });
  EXPECT_TRUE(reopen(config).entries.empty());
}

TEST(Wal, NextSegmentIsPreallocatedAheadOfNeedAndLeftoversAreDropped) {
  temp_dir dir;
  const wal_config config = small_config(dir.path());
  const std::string next = dir / std::string(preallocated_segment_name);
  run_on_runtime([&]() -> runtime::task<void> {
    auto opened = co_await write_ahead_log::open(config);
    co_await append_range(*opened.log, 1, 1000, 1, 50, 100);  // ~140 KiB: under half a segment
    co_await opened.log->close();
  });
  EXPECT_FALSE(fs::exists(next));  // prepared only when the current segment is half full
  run_on_runtime([&]() -> runtime::task<void> {
    auto opened = co_await write_ahead_log::open(config);
    co_await append_range(*opened.log, 1001, 5000, 1, 50, 100);  // ~690 KiB in the first segment
    co_await opened.log->close();
  });
  ASSERT_TRUE(fs::exists(next));
  EXPECT_EQ(fs::file_size(next), config.segment_bytes);
  EXPECT_EQ(segment_files(dir.path()).size(), 1u);  // not yet needed, so not yet a segment
  // A leftover from an interrupted run is never part of the log: it is dropped and prepared afresh.
  std::ofstream(next, std::ios::binary | std::ios::trunc) << "garbage from an interrupted preallocation";
  expect_entries(reopen(config).entries, 1, 5000, 100);
  ASSERT_TRUE(fs::exists(next));
  EXPECT_EQ(fs::file_size(next), config.segment_bytes);
  std::ifstream in(next, std::ios::binary);
  char first = 1;
  in.read(&first, 1);
  EXPECT_EQ(first, 0);
}

// How a file is laid out on disk: bytes allocated, and whether any extent is still "unwritten"
// (fallocated only: the first write to it would make fdatasync commit the filesystem journal).
struct file_layout {
  uint64_t size = 0;
  uint64_t allocated_bytes = 0;
  bool extents_known = false;  // FIEMAP works on this filesystem
  uint64_t unwritten_extents = 0;
  bool all_zero_after_header = true;
  bool first_block_has_data = false;
};

file_layout layout_of(const std::string& path) {
  file_layout out;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;  // missing: size 0 fails the caller's checks
  struct stat st {};
  ::fstat(fd, &st);
  out.size = static_cast<uint64_t>(st.st_size);
  out.allocated_bytes = static_cast<uint64_t>(st.st_blocks) * 512;
  constexpr size_t extents_max = 256;
  std::vector<std::byte> buf(sizeof(fiemap) + extents_max * sizeof(fiemap_extent));
  auto* map = reinterpret_cast<fiemap*>(buf.data());
  map->fm_start = 0;
  map->fm_length = FIEMAP_MAX_OFFSET;
  map->fm_flags = FIEMAP_FLAG_SYNC;
  map->fm_extent_count = extents_max;
  if (::ioctl(fd, FS_IOC_FIEMAP, map) == 0) {
    out.extents_known = true;
    for (uint32_t i = 0; i < map->fm_mapped_extents; ++i) {
      if (map->fm_extents[i].fe_flags & FIEMAP_EXTENT_UNWRITTEN) ++out.unwritten_extents;
    }
  }
  ::close(fd);
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  out.first_block_has_data = bytes.substr(0, 4096).find_first_not_of('\0') != std::string::npos;
  out.all_zero_after_header = bytes.size() <= 4096 || bytes.find_first_not_of('\0', 4096) == std::string::npos;
  return out;
}

TEST(Wal, FreshLogHasItsFirstSegmentZeroFilledAndDurableBeforeTheFirstAppendIsAcknowledged) {
  temp_dir dir;
  wal_config config = small_config(dir.path());
  config.prealloc = preallocation::zero_filled;  // the production default
  const std::string next = dir / std::string(preallocated_segment_name);
  file_layout at_open, after_first_append;
  std::vector<std::string> segments_at_open, segments_after_first_append;
  bool next_after_first_append = true;
  run_on_runtime([&]() -> runtime::task<void> {
    auto opened = co_await write_ahead_log::open(config);
    // open() returned and nothing was appended yet: the first segment is already fully prepared.
    segments_at_open = segment_files(dir.path());
    at_open = layout_of(next);
    const std::string payload = payload_for(1, 100);
    const std::vector<entry_view> first{{1, 1, 0, payload}};
    co_await opened.log->append(first, hard_state{1, 1, 0});
    // Acknowledged: the prepared file is now segment 0, written where the header goes, zero elsewhere.
    segments_after_first_append = segment_files(dir.path());
    next_after_first_append = fs::exists(next);
    if (segments_after_first_append.size() == 1) after_first_append = layout_of(segments_after_first_append[0]);
    co_await opened.log->close();
  });
  EXPECT_TRUE(segments_at_open.empty());
  EXPECT_EQ(at_open.size, config.segment_bytes);
  EXPECT_GE(at_open.allocated_bytes, config.segment_bytes);
  EXPECT_FALSE(at_open.first_block_has_data);
  EXPECT_TRUE(at_open.all_zero_after_header);
  ASSERT_EQ(segments_after_first_append.size(), 1u);
  EXPECT_FALSE(next_after_first_append);  // the next one is prepared only when this one is half full
  EXPECT_EQ(after_first_append.size, config.segment_bytes);
  EXPECT_GE(after_first_append.allocated_bytes, config.segment_bytes);
  EXPECT_TRUE(after_first_append.first_block_has_data);
  EXPECT_TRUE(after_first_append.all_zero_after_header);
  if (at_open.extents_known) {
    EXPECT_EQ(at_open.unwritten_extents, 0u) << "fallocated but not zero-filled before open() returned";
    EXPECT_EQ(after_first_append.unwritten_extents, 0u);
  } else {
    std::fprintf(stderr, "FIEMAP unsupported here: unwritten-extent check skipped (sizes and bytes checked)\n");
  }
  expect_entries(reopen(config).entries, 1, 1, 100);
}

TEST(Wal, DataDirectoryIsCreated0700) {
  temp_dir dir;
  const wal_config config = small_config(dir / "data/member/wal");
  reopen(config);
  for (const char* p : {"data", "data/member", "data/member/wal"}) {
    EXPECT_EQ(fs::status(dir / p).permissions() & fs::perms::all, fs::perms::owner_all) << p;
  }
}

}  // namespace
}  // namespace ringkv::storage::wal
