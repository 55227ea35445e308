// Keys match etcd's benchmark tool (Go binary.PutVarint into a zeroed key-size buffer).
#include "bench/loadgen/key_gen.h"

#include <gtest/gtest.h>

#include <set>

namespace ringkv::bench {
namespace {

TEST(KeyGen, VarintKeysMatchGoPutVarint) {
  std::string key;
  make_etcd_key(key, 8, 0);
  EXPECT_EQ(key, std::string(8, '\0'));
  make_etcd_key(key, 8, 1);  // zigzag(1) = 2
  EXPECT_EQ(key, std::string("\x02") + std::string(7, '\0'));
  make_etcd_key(key, 8, 64);  // zigzag(64) = 128 -> 0x80 0x01
  EXPECT_EQ(key, std::string("\x80\x01", 2) + std::string(6, '\0'));
  make_etcd_key(key, 4, 300);  // zigzag 600 = 0x258 -> 0xd8 0x04
  EXPECT_EQ(key, std::string("\xd8\x04\x00\x00", 4));
}

TEST(KeyGen, VarintSize) {
  EXPECT_EQ(varint_key_bytes(0), 1u);
  EXPECT_EQ(varint_key_bytes(63), 1u);
  EXPECT_EQ(varint_key_bytes(64), 2u);
  EXPECT_EQ(varint_key_bytes(99999), 3u);
}

TEST(KeyGen, SequentialPickerWrapsAtKeySpace) {
  key_picker picker(3, true, 1);
  EXPECT_EQ(picker.pick(0), 0u);
  EXPECT_EQ(picker.pick(1), 1u);
  EXPECT_EQ(picker.pick(2), 2u);
  EXPECT_EQ(picker.pick(3), 0u);
}

TEST(KeyGen, RandomPickerStaysInKeySpaceAndCoversIt) {
  key_picker picker(10, false, 42);
  std::set<uint64_t> seen;
  for (int i = 0; i < 1000; ++i) {
    uint64_t k = picker.pick(i);
    ASSERT_LT(k, 10u);
    seen.insert(k);
  }
  EXPECT_EQ(seen.size(), 10u);
}

TEST(KeyGen, RandomBytesHaveRequestedSize) {
  EXPECT_EQ(random_bytes(256, 1).size(), 256u);
  EXPECT_NE(random_bytes(32, 1), random_bytes(32, 2));
}

}  // namespace
}  // namespace ringkv::bench
