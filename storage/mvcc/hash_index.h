// storage/mvcc/hash_index.h: point lookup key -> key id, an open-addressing table with linear probing.
// One 8-byte slot per key: [32-bit hash tag][id + 1] (0 = empty). The tag decides the home slot and
// rules out almost every mismatch without touching the key bytes, so a get costs ~2 cache misses.
// Deletion shifts the following cluster back (no tombstones, so probes never lengthen over time).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "storage/mvcc/key_table.h"

namespace ringkv::storage::mvcc {

class HashIndex {
 public:
  static constexpr uint32_t initial_slots = 1024;
  // Grow (double) before the table passes 7/8 full.
  static constexpr uint32_t load_numerator = 7, load_denominator = 8;

  explicit HashIndex(const KeyTable& keys);
  static uint32_t tag_of(std::string_view key);
  key_id_t find(std::string_view key, uint32_t tag) const;
  key_id_t find(std::string_view key) const { return find(key, tag_of(key)); }
  // Prefetch support: touch the home slot of `tag`; then, once it is in cache, the id stored there
  // under a matching tag (a likely hit, not verified against the key), or no_key_id.
  void prefetch_slot(uint32_t tag) const { __builtin_prefetch(&slots_[tag & mask_]); }
  key_id_t peek(uint32_t tag) const;
  void insert(uint32_t tag, key_id_t id);  // the key must be absent
  void erase(uint32_t tag, key_id_t id);   // the id must be present
  size_t size() const { return count_; }
  size_t memory_bytes() const { return slots_.capacity() * sizeof(uint64_t); }
  void clear();

 private:
  static uint64_t make_slot(uint32_t tag, key_id_t id) { return (uint64_t{tag} << 32) | (uint64_t{id} + 1); }
  static uint32_t slot_tag(uint64_t s) { return static_cast<uint32_t>(s >> 32); }
  static key_id_t slot_id(uint64_t s) { return static_cast<key_id_t>((s & 0xffffffffu) - 1); }
  void grow();

  const KeyTable& keys_;
  std::vector<uint64_t> slots_;
  uint64_t mask_ = 0;
  size_t count_ = 0;
};

}  // namespace ringkv::storage::mvcc
