// tests/mvcc/ordered_index_test.cc: the B+tree key index and the hash index against std::set /
// std::unordered_map under random inserts and erases of keys with shared prefixes, empty and long keys
// (so leaves split, empty out, change their hint prefix and the root collapses).
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <unordered_map>

#include "storage/mvcc/hash_index.h"
#include "storage/mvcc/ordered_index.h"

namespace ringkv::storage::mvcc {
namespace {

std::string random_key(std::mt19937_64& rng) {
  static const char* prefixes[] = {"", "a", "/registry/pods/default/", "/registry/pods/kube-system/",
                                   "key/000000000000000000", "\xff\xff", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"};
  std::string k = prefixes[rng() % 7];
  int len = static_cast<int>(rng() % 12);
  for (int i = 0; i < len; ++i) k.push_back(static_cast<char>("\x00" "019az\xff"[rng() % 7]));
  return k;
}

void check_order(const OrderedIndex& index, const KeyTable& keys, const std::set<std::string>& want,
                 std::mt19937_64& rng) {
  ASSERT_EQ(index.size(), want.size());
  auto it = want.begin();
  for (auto c = index.begin(); c.valid(); c.next(), ++it) {
    ASSERT_NE(it, want.end());
    ASSERT_EQ(keys[c.id()].key(), *it);
  }
  ASSERT_EQ(it, want.end());
  for (int i = 0; i < 200; ++i) {
    std::string probe = random_key(rng);
    auto c = index.lower_bound(probe);
    auto w = want.lower_bound(probe);
    if (w == want.end()) {
      ASSERT_FALSE(c.valid()) << probe;
    } else {
      ASSERT_TRUE(c.valid());
      ASSERT_EQ(keys[c.id()].key(), *w) << probe;
    }
  }
}

TEST(OrderedIndex, MatchesStdSetUnderRandomInsertErase) {
  std::mt19937_64 rng(42);
  KeyTable keys;
  OrderedIndex index(keys);
  HashIndex hash(keys);
  std::set<std::string> want;
  std::unordered_map<std::string, key_id_t> ids;
  for (int round = 0; round < 6; ++round) {
    int inserts = round % 2 == 0 ? 30000 : 5000;
    for (int i = 0; i < inserts; ++i) {
      std::string k = random_key(rng);
      if (!want.insert(k).second) continue;
      key_id_t id = keys.allocate(k);
      ids[k] = id;
      index.insert(k, id);
      hash.insert(HashIndex::tag_of(k), id);
    }
    // Erase a random half (odd rounds erase almost everything, emptying leaves and inner nodes).
    std::vector<std::string> all(want.begin(), want.end());
    for (const auto& k : all) {
      if (rng() % 100 >= (round % 2 == 0 ? 50u : 97u)) continue;
      index.erase(k);
      hash.erase(HashIndex::tag_of(k), ids[k]);
      keys.free(ids[k]);
      ids.erase(k);
      want.erase(k);
    }
    check_order(index, keys, want, rng);
    for (const auto& [k, id] : ids) ASSERT_EQ(hash.find(k), id);
    for (int i = 0; i < 1000; ++i) {
      std::string probe = random_key(rng);
      ASSERT_EQ(hash.find(probe) != no_key_id, want.contains(probe));
    }
  }
}

TEST(OrderedIndex, AscendingAppendsPackLeaves) {
  KeyTable keys;
  OrderedIndex index(keys);
  char buf[16];
  for (int i = 0; i < 64 * 1000; ++i) {
    std::snprintf(buf, sizeof buf, "k%08d", i);
    index.insert(buf, keys.allocate(buf));
  }
  // Full leaves: about 1000 leaves of 64 plus a few inner nodes, not 2000 half-full ones.
  EXPECT_LT(index.memory_bytes(), 1100 * (64 * (4 + 8) + 64) + 64 * 4096);
}

}  // namespace
}  // namespace ringkv::storage::mvcc
