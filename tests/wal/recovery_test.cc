// Log rebuilding from segment bytes: round trips, raft suffix overwrites, torn tails (truncation at every
// offset of the last 64 KiB), and corruption reported with file and offset.
#include "storage/wal/recovery.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "storage/wal/errors.h"

namespace ringkv::storage::wal {
namespace {

constexpr uint64_t kSegmentBytes = 256 * 1024;
constexpr uint64_t kWriteLimit = 16 * 1024;

// Lays out one segment the way the log writer does: header, hard state, snapshot marker, then records.
struct segment_builder {
  std::vector<std::byte> bytes = std::vector<std::byte>(kSegmentBytes);
  uint64_t offset = 0;
  uint64_t chain = 0;
  std::vector<uint64_t> record_ends;  // end offset of every record after the header trio

  segment_builder(uint64_t seq, uint64_t first_index, uint64_t prev_chain, hard_state hs = {},
                  snapshot_marker m = {}) {
    segment_header_body h;
    h.segment_seq = seq;
    h.first_index = first_index;
    h.segment_bytes = kSegmentBytes;
    h.write_bytes_limit = kWriteLimit;
    h.prev_segment_chain = prev_chain;
    chain = encode_segment_header(bytes.data(), h);
    offset = record_bytes(segment_header_body_bytes);
    chain = encode_hard_state(bytes.data() + offset, hs, chain);
    offset += record_bytes(hard_state_body_bytes);
    chain = encode_snapshot_marker(bytes.data() + offset, m, chain);
    offset += record_bytes(snapshot_marker_body_bytes);
  }
  void add(uint64_t index, uint64_t term, const std::string& payload) {
    chain = encode_entry(bytes.data() + offset, {index, term, 0, payload}, chain);
    offset += entry_record_bytes(payload.size());
    record_ends.push_back(offset);
  }
  void add_hard_state(hard_state hs) {
    chain = encode_hard_state(bytes.data() + offset, hs, chain);
    offset += record_bytes(hard_state_body_bytes);
    record_ends.push_back(offset);
  }
  void add_marker(snapshot_marker m) {
    chain = encode_snapshot_marker(bytes.data() + offset, m, chain);
    offset += record_bytes(snapshot_marker_body_bytes);
    record_ends.push_back(offset);
  }
};

std::string payload_for(uint64_t index) { return "p" + std::to_string(index * 7919 % 100003); }

recovered_log rebuild(const std::vector<segment_builder*>& segs, std::vector<uint64_t> first_indexes,
                      size_t last_bytes = SIZE_MAX) {
  log_rebuilder r(kWriteLimit);
  for (size_t i = 0; i < segs.size(); ++i) {
    std::span<const std::byte> data(segs[i]->bytes);
    if (i + 1 == segs.size()) data = data.first(std::min(last_bytes, data.size()));
    const segment_id id{i, first_indexes[i]};
    r.add_segment(id, segment_file_name(id), data, i + 1 == segs.size());
  }
  return std::move(r).finish();
}

TEST(Recovery, RebuildsAcrossSegments) {
  segment_builder a(0, 1, 0);
  for (uint64_t i = 1; i <= 100; ++i) a.add(i, 1, payload_for(i));
  a.add_hard_state({1, 1, 90});
  segment_builder b(1, 101, a.chain, {1, 1, 90});
  for (uint64_t i = 101; i <= 150; ++i) b.add(i, 2, payload_for(i));
  b.add_hard_state({2, 1, 140});
  auto log = rebuild({&a, &b}, {1, 101});
  ASSERT_EQ(log.entries.size(), 150u);
  for (uint64_t i = 1; i <= 150; ++i) {
    EXPECT_EQ(log.entries[i - 1].index, i);
    EXPECT_EQ(log.entries[i - 1].payload, payload_for(i));
  }
  EXPECT_EQ(log.state, (hard_state{2, 1, 140}));
  EXPECT_EQ(log.end_offset, b.offset);
  EXPECT_EQ(log.chain, b.chain);
  EXPECT_FALSE(log.tail_torn);
  EXPECT_EQ(log.segments.size(), 2u);
}

TEST(Recovery, ConflictingSuffixIsReplaced) {
  segment_builder a(0, 1, 0);
  for (uint64_t i = 1; i <= 10; ++i) a.add(i, 1, "old");
  for (uint64_t i = 6; i <= 8; ++i) a.add(i, 2, "new");
  auto log = rebuild({&a}, {1});
  ASSERT_EQ(log.entries.size(), 8u);
  EXPECT_EQ(log.entries[4].payload, "old");
  EXPECT_EQ(log.entries[5].payload, "new");
  EXPECT_EQ(log.entries[7].index, 8u);
  EXPECT_EQ(log.entries[7].term, 2u);
  EXPECT_EQ(log.last_index(), 8u);
}

TEST(Recovery, SnapshotMarkerBeyondLogRestartsIt) {
  segment_builder a(0, 1, 0);
  for (uint64_t i = 1; i <= 5; ++i) a.add(i, 1, "x");
  a.add_marker({50, 3});
  a.add(51, 3, "after");
  auto log = rebuild({&a}, {1});
  ASSERT_EQ(log.entries.size(), 1u);
  EXPECT_EQ(log.entries[0].index, 51u);
  EXPECT_EQ(log.snapshot, (snapshot_marker{50, 3}));
}

TEST(Recovery, IndexGapIsCorruption) {
  segment_builder a(0, 1, 0);
  a.add(1, 1, "x");
  a.add(3, 1, "x");
  EXPECT_THROW(rebuild({&a}, {1}), corruption_error);
}

TEST(Recovery, TruncationAtEveryOffsetOfTheLast64KiBKeepsEveryIntactRecord) {
  segment_builder a(0, 1, 0);
  uint64_t index = 1;
  std::mt19937_64 rng(7);
  while (a.offset < 72 * 1024) {
    a.add(index, 1, std::string(200 + rng() % 1000, static_cast<char>('a' + index % 26)));
    ++index;
  }
  const uint64_t end = a.offset;
  for (uint64_t cut = end - 64 * 1024; cut <= end; ++cut) {
    auto log = rebuild({&a}, {1}, cut);
    // Every record that ends at or before the cut is present, nothing after it.
    const auto intact = static_cast<uint64_t>(
        std::upper_bound(a.record_ends.begin(), a.record_ends.end(), cut) - a.record_ends.begin());
    ASSERT_EQ(log.entries.size(), intact) << "cut at " << cut;
    ASSERT_EQ(log.end_offset, intact == 0 ? a.record_ends.front() : a.record_ends[intact - 1]);
    ASSERT_TRUE(log.tail_torn);  // the file is short: it must be re-extended before writing
  }
}

TEST(Recovery, TornTailWithGarbageInsideTheWriteWindowIsTruncated) {
  segment_builder a(0, 1, 0);
  for (uint64_t i = 1; i <= 200; ++i) a.add(i, 1, payload_for(i));
  const uint64_t good_end = a.record_ends[149];
  // Bytes of a write that never completed: the 151st record damaged, later blocks still present.
  a.bytes[good_end + 20] ^= std::byte{0xff};
  auto log = rebuild({&a}, {1});
  EXPECT_EQ(log.entries.size(), 150u);
  EXPECT_EQ(log.end_offset, good_end);
  EXPECT_TRUE(log.tail_torn);
}

TEST(Recovery, BitFlipBeforeTheTailIsCorruptionWithFileAndOffset) {
  segment_builder a(0, 1, 0);
  uint64_t i = 1;
  while (a.offset < kSegmentBytes - 4096) a.add(i, 1, payload_for(i)), ++i;
  const uint64_t bad_record = a.record_ends[10];  // start of the 12th entry record
  a.bytes[bad_record + 30] ^= std::byte{0x10};
  try {
    rebuild({&a}, {1});
    FAIL() << "corruption not reported";
  } catch (const corruption_error& e) {
    EXPECT_EQ(e.file(), "0000000000000000-0000000000000001.wal");
    EXPECT_EQ(e.offset(), bad_record);
    EXPECT_NE(std::string(e.what()).find("checksum mismatch"), std::string::npos);
  }
}

TEST(Recovery, DamageInASealedSegmentIsCorruption) {
  segment_builder a(0, 1, 0);
  for (uint64_t i = 1; i <= 20; ++i) a.add(i, 1, payload_for(i));
  segment_builder b(1, 21, a.chain);
  b.add(21, 1, "x");
  a.bytes[a.record_ends[19] - 3] ^= std::byte{1};  // the very last record of the sealed segment
  EXPECT_THROW(rebuild({&a, &b}, {1, 21}), corruption_error);
}

TEST(Recovery, BrokenChainBetweenSegmentsIsCorruption) {
  segment_builder a(0, 1, 0);
  a.add(1, 1, "x");
  segment_builder b(1, 2, a.chain + 1);
  b.add(2, 1, "y");
  EXPECT_THROW(rebuild({&a, &b}, {1, 2}), corruption_error);
}

TEST(Recovery, MissingSegmentIsCorruption) {
  segment_builder a(0, 1, 0);
  a.add(1, 1, "x");
  segment_builder c(2, 2, a.chain);
  log_rebuilder r(kWriteLimit);
  r.add_segment({0, 1}, "a", a.bytes, false);
  EXPECT_THROW(r.add_segment({2, 2}, "c", c.bytes, true), corruption_error);
}

TEST(Recovery, TornSegmentHeaderDropsTheNewSegment) {
  segment_builder a(0, 1, 0);
  a.add(1, 1, "x");
  segment_builder b(1, 2, a.chain);
  b.add(2, 1, "y");
  b.bytes[3] ^= std::byte{4};
  auto log = rebuild({&a, &b}, {1, 2});
  EXPECT_EQ(log.entries.size(), 1u);
  EXPECT_EQ(log.segments.size(), 1u);
  ASSERT_EQ(log.empty_files.size(), 1u);
  EXPECT_EQ(log.end_offset, a.offset);
  EXPECT_EQ(log.chain, a.chain);
}

TEST(Recovery, DataInASegmentAfterTheEndIsCorruption) {
  std::vector<std::byte> trailing(kSegmentBytes);
  trailing[5000] = std::byte{1};
  log_rebuilder r(kWriteLimit);
  EXPECT_THROW(r.add_empty_segment("x.wal", trailing, false), corruption_error);
  // The newest file: blocks of a torn first write (within one write of the start) are tolerated...
  r.add_empty_segment("y.wal", trailing, true);
  // ...but not data further in than one write can reach.
  trailing[kWriteLimit + 10] = std::byte{1};
  EXPECT_THROW(r.add_empty_segment("z.wal", trailing, true), corruption_error);
}

}  // namespace
}  // namespace ringkv::storage::wal
