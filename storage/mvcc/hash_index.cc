// storage/mvcc/hash_index.cc: linear probing with back-shift deletion.
#include "storage/mvcc/hash_index.h"

#include <xxhash.h>

namespace ringkv::storage::mvcc {

HashIndex::HashIndex(const KeyTable& keys) : keys_(keys) { clear(); }

void HashIndex::clear() {
  slots_.assign(initial_slots, 0);
  slots_.shrink_to_fit();
  mask_ = initial_slots - 1;
  count_ = 0;
}

uint32_t HashIndex::tag_of(std::string_view key) {
  return static_cast<uint32_t>(XXH3_64bits(key.data(), key.size()) >> 32);
}

key_id_t HashIndex::find(std::string_view key, uint32_t tag) const {
  for (uint64_t i = tag & mask_;; i = (i + 1) & mask_) {
    uint64_t s = slots_[i];
    if (s == 0) return no_key_id;
    if (slot_tag(s) == tag && keys_[slot_id(s)].key() == key) return slot_id(s);
  }
}

key_id_t HashIndex::peek(uint32_t tag) const {
  for (uint64_t i = tag & mask_;; i = (i + 1) & mask_) {
    uint64_t s = slots_[i];
    if (s == 0) return no_key_id;
    if (slot_tag(s) == tag) return slot_id(s);
  }
}

void HashIndex::insert(uint32_t tag, key_id_t id) {
  if ((count_ + 1) * load_denominator > slots_.size() * load_numerator) grow();
  uint64_t i = tag & mask_;
  while (slots_[i] != 0) i = (i + 1) & mask_;
  slots_[i] = make_slot(tag, id);
  ++count_;
}

void HashIndex::erase(uint32_t tag, key_id_t id) {
  uint64_t i = tag & mask_;
  while (slots_[i] != make_slot(tag, id)) {
    assert(slots_[i] != 0);
    i = (i + 1) & mask_;
  }
  // Back-shift: move later members of the cluster into the hole when their home allows it.
  uint64_t hole = i;
  for (uint64_t j = (i + 1) & mask_; slots_[j] != 0; j = (j + 1) & mask_) {
    uint64_t home = slot_tag(slots_[j]) & mask_;
    // j may fill the hole if home is not in the cyclic interval (hole, j].
    bool home_in_between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
    if (!home_in_between) {
      slots_[hole] = slots_[j];
      hole = j;
    }
  }
  slots_[hole] = 0;
  --count_;
}

void HashIndex::grow() {
  std::vector<uint64_t> old;
  old.swap(slots_);
  slots_.assign(old.size() * 2, 0);
  mask_ = slots_.size() - 1;
  for (uint64_t s : old) {
    if (s == 0) continue;
    uint64_t i = slot_tag(s) & mask_;
    while (slots_[i] != 0) i = (i + 1) & mask_;
    slots_[i] = s;
  }
}

}  // namespace ringkv::storage::mvcc
