// storage/mvcc/key_table.cc: version values, the inline-first version array of a key, and the id-addressed table.
#include "storage/mvcc/key_table.h"

#include <algorithm>
#include <cstdlib>
#include <new>

namespace ringkv::storage::mvcc {

void Version::set_value(std::string_view bytes) {
  assert(value_ptr == nullptr && bytes.size() <= UINT32_MAX);
  value_len = static_cast<uint32_t>(bytes.size());
  if (bytes.empty()) return;
  auto* p = static_cast<char*>(std::malloc(bytes.size()));
  if (p == nullptr) throw std::bad_alloc();
  std::memcpy(p, bytes.data(), bytes.size());
  value_ptr = p;
}

void Version::free_value() {
  std::free(const_cast<char*>(value_ptr));
  value_ptr = nullptr;
  value_len = 0;
}

void KeyEntry::init(std::string_view key) {
  assert(!in_use());
  assert(key.size() <= UINT32_MAX);
  key_len_ = static_cast<uint32_t>(key.size());
  if (key.size() <= inline_key_bytes) {
    std::memcpy(key_inline_, key.data(), key.size());
  } else {
    auto* p = static_cast<char*>(std::malloc(key.size()));
    if (p == nullptr) throw std::bad_alloc();
    std::memcpy(p, key.data(), key.size());
    key_heap_ = p;
  }
  in_use_ = 1;
}

void KeyEntry::push_back(const Version& v) {
  if (count_ == 0 && capacity_ <= 1) {
    inline_ = v;
    count_ = 1;
    return;
  }
  if (count_ == capacity_) {
    uint32_t cap = std::max<uint32_t>(4, capacity_ * 2);
    auto* grown = static_cast<Version*>(std::malloc(sizeof(Version) * cap));
    if (grown == nullptr) throw std::bad_alloc();
    std::memcpy(static_cast<void*>(grown), data(), sizeof(Version) * count_);
    if (capacity_ > 1) std::free(heap_);
    heap_ = grown;
    capacity_ = cap;
  }
  assert(count_ == 0 || data()[count_ - 1].before(v.mod, v.sub));
  data()[count_++] = v;
}

void KeyEntry::erase_front(uint32_t n) {
  assert(n <= count_);
  Version* d = data();
  for (uint32_t i = 0; i < n; ++i) d[i].free_value();
  uint32_t rest = count_ - n;
  std::memmove(static_cast<void*>(d), d + n, sizeof(Version) * rest);
  count_ = rest;
  if (capacity_ > 1 && rest <= 1) {  // shrink back to the inline slot
    Version* old = heap_;
    if (rest == 1) inline_ = old[0];
    std::free(old);
    capacity_ = 1;
  }
}

void KeyEntry::release() {
  if (!in_use()) return;
  erase_front(count_);
  if (key_len_ > inline_key_bytes) std::free(const_cast<char*>(key_heap_));
  key_len_ = 0;
  in_use_ = 0;
}

int64_t KeyEntry::find_at(int64_t rev) const {
  const Version* d = data();
  if (count_ == 0) return -1;
  if (d[count_ - 1].mod <= rev) return count_ - 1;  // the common case: the newest version
  const Version* it = std::upper_bound(d, d + count_, rev, [](int64_t r, const Version& v) { return r < v.mod; });
  return (it - d) - 1;
}

key_id_t KeyTable::allocate(std::string_view key) {
  key_id_t id;
  if (!free_ids_.empty()) {
    id = free_ids_.back();
    free_ids_.pop_back();
  } else {
    assert(next_id_ < no_key_id);
    id = next_id_++;
    if (id / chunk_entries >= chunks_.size()) chunks_.push_back(std::make_unique<KeyEntry[]>(chunk_entries));
  }
  (*this)[id].init(key);
  return id;
}

void KeyTable::free(key_id_t id) {
  (*this)[id].release();
  free_ids_.push_back(id);
}

void KeyTable::clear() {
  chunks_.clear();
  free_ids_.clear();
  next_id_ = 0;
}

}  // namespace ringkv::storage::mvcc
