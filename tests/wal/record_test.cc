// Record codec and segment/snapshot names: round trips, chain seeding, and rejection of damaged bytes.
#include "storage/wal/record.h"

#include <gtest/gtest.h>

#include <vector>

#include "storage/wal/segment_name.h"

namespace ringkv::storage::wal {
namespace {

TEST(Record, EntryRoundTripsAndChains) {
  std::vector<std::byte> buf(256);
  const entry_view e{7, 3, 1, "hello"};
  const uint64_t c1 = encode_entry(buf.data(), e, 42);
  const size_t n1 = entry_record_bytes(5);
  const uint64_t c2 = encode_hard_state(buf.data() + n1, {3, 2, 7}, c1);

  record_view r;
  std::string why;
  ASSERT_EQ(read_record(buf, 0, 42, r, why), read_status::ok);
  EXPECT_EQ(r.type, record_type::entry);
  EXPECT_EQ(r.checksum, c1);
  EXPECT_EQ(r.total_bytes, n1);
  auto decoded = decode_entry(r.body);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, (entry{7, 3, 1, "hello"}));

  ASSERT_EQ(read_record(buf, n1, c1, r, why), read_status::ok);
  EXPECT_EQ(r.checksum, c2);
  EXPECT_EQ(*decode_hard_state(r.body), (hard_state{3, 2, 7}));
  EXPECT_EQ(read_record(buf, n1 + r.total_bytes, c2, r, why), read_status::end);
}

TEST(Record, WrongSeedIsRejected) {
  // A block copied from another position or segment carries a different chain seed.
  std::vector<std::byte> buf(64);
  encode_snapshot_marker(buf.data(), {10, 2}, 1);
  record_view r;
  std::string why;
  EXPECT_EQ(read_record(buf, 0, 2, r, why), read_status::bad);
  EXPECT_EQ(why, "checksum mismatch");
}

TEST(Record, EveryBitFlipIsDetected) {
  std::vector<std::byte> buf(128);
  const uint64_t seed = 99;
  encode_entry(buf.data(), {1, 1, 0, "payload bytes"}, seed);
  const size_t n = entry_record_bytes(13);
  for (size_t byte = 0; byte < n; ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      auto copy = buf;
      copy[byte] ^= std::byte(1 << bit);
      record_view r;
      std::string why;
      EXPECT_NE(read_record(copy, 0, seed, r, why), read_status::ok) << byte << ":" << bit;
    }
  }
}

TEST(Record, CutOffRecordIsBadNotEnd) {
  std::vector<std::byte> buf(128);
  encode_entry(buf.data(), {1, 1, 0, std::string(50, 'x')}, 0);
  std::span<const std::byte> cut(buf.data(), record_header_bytes + 10);
  record_view r;
  std::string why;
  EXPECT_EQ(read_record(cut, 0, 0, r, why), read_status::bad);
  std::span<const std::byte> tiny(buf.data(), 10);
  EXPECT_EQ(read_record(tiny, 0, 0, r, why), read_status::end);
}

TEST(Record, SegmentHeaderUsesSegmentSeed) {
  std::vector<std::byte> buf(128);
  segment_header_body h;
  h.segment_seq = 5;
  h.first_index = 100;
  h.segment_bytes = 1 << 20;
  h.write_bytes_limit = 1 << 16;
  h.prev_segment_chain = 1234;
  encode_segment_header(buf.data(), h);
  record_view r;
  std::string why;
  ASSERT_EQ(read_record(buf, 0, segment_seed(5), r, why), read_status::ok);
  auto back = decode_segment_header(r.body);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->first_index, 100u);
  EXPECT_EQ(back->prev_segment_chain, 1234u);
  EXPECT_EQ(read_record(buf, 0, segment_seed(6), r, why), read_status::bad);
}

TEST(SegmentName, FormatsSortableAndParsesStrictly) {
  const auto name = segment_file_name({0x1a, 0x2b3c});
  EXPECT_EQ(name, "000000000000001a-0000000000002b3c.wal");
  EXPECT_EQ(parse_segment_file_name(name), (segment_id{0x1a, 0x2b3c}));
  EXPECT_LT(segment_file_name({9, 500}), segment_file_name({10, 1}));
  EXPECT_FALSE(parse_segment_file_name("000000000000001a-0000000000002b3c.wal.broken"));
  EXPECT_FALSE(parse_segment_file_name("000000000000001A-0000000000002b3c.wal"));
  EXPECT_FALSE(parse_segment_file_name("next.wal.tmp"));
  EXPECT_FALSE(parse_segment_file_name("00000000000001a-0000000000002b3c.wal"));
}

}  // namespace
}  // namespace ringkv::storage::wal
