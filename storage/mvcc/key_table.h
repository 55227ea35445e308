// storage/mvcc/key_table.h: the per-key records of the MVCC store. Every key that has history gets one
// 96-byte KeyEntry (found by a dense uint32 id) holding its key bytes (inline up to 32 bytes) and its
// versions in revision order. The common case, one live version, is stored inline in the entry (no
// second allocation); longer histories spill to a heap array. Values are stored exactly once, each in
// its own allocation.
#pragma once

#include <cassert>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace ringkv::storage::mvcc {

using key_id_t = uint32_t;
inline constexpr key_id_t no_key_id = UINT32_MAX;

// One revision of one key. A tombstone (delete) carries only mod/sub. The value length sits next to
// its pointer, so building a view never touches the value bytes.
// Invariant within a KeyEntry: versions are strictly increasing by (mod, sub).
struct Version {
  static constexpr uint32_t sub_limit = 1u << 31;
  int64_t mod = 0;
  int64_t create = 0;
  int64_t version = 0;
  int64_t lease = 0;
  const char* value_ptr = nullptr;  // owned, value_len bytes; nullptr when empty
  uint32_t value_len = 0;
  uint32_t sub : 31 = 0;
  uint32_t tombstone : 1 = 0;
  bool before(int64_t main, uint32_t s) const { return mod < main || (mod == main && sub < s); }
  std::string_view value_view() const { return {value_ptr, value_len}; }
  // Copies `bytes` into a new allocation owned by this version.
  void set_value(std::string_view bytes);
  void free_value();
};
static_assert(sizeof(Version) == 48);

class KeyEntry {
 public:
  static constexpr uint32_t inline_key_bytes = 32;

  KeyEntry() = default;
  KeyEntry(const KeyEntry&) = delete;
  KeyEntry& operator=(const KeyEntry&) = delete;
  ~KeyEntry() { release(); }

  void init(std::string_view key);
  bool in_use() const { return in_use_ != 0; }
  std::string_view key() const { return {key_len_ <= inline_key_bytes ? key_inline_ : key_heap_, key_len_}; }
  std::span<Version> versions() { return {data(), count_}; }
  std::span<const Version> versions() const { return {data(), count_}; }
  bool empty() const { return count_ == 0; }
  const Version& back() const { assert(count_ > 0); return data()[count_ - 1]; }
  void push_back(const Version& v);
  // Drops versions [0, n), freeing their values.
  void erase_front(uint32_t n);
  // Frees everything; the entry becomes unused.
  void release();
  // Index of the newest version with mod <= rev, or -1.
  int64_t find_at(int64_t rev) const;
  // Starts loading the entry's cache lines (header, inline version, inline key).
  void prefetch() const {
    __builtin_prefetch(this);
    __builtin_prefetch(reinterpret_cast<const char*>(this) + sizeof(KeyEntry) - 1);
  }

 private:
  Version* data() { return capacity_ <= 1 ? &inline_ : heap_; }
  const Version* data() const { return capacity_ <= 1 ? &inline_ : heap_; }

  uint32_t key_len_ = 0;
  uint32_t count_ = 0;
  uint32_t capacity_ = 1;  // 1: the inline slot; more: heap_ holds capacity_ versions
  uint32_t in_use_ = 0;
  union {
    Version inline_{};
    Version* heap_;
  };
  // Keys up to inline_key_bytes live in the entry itself: a lookup reads the key from the same
  // (adjacent) cache lines as the versions, instead of chasing a pointer to a separate allocation.
  union {
    char key_inline_[inline_key_bytes] = {};
    const char* key_heap_;
  };
};
static_assert(sizeof(KeyEntry) == 96);

// Dense storage of KeyEntry by id, in fixed chunks (stable addresses, no reallocation copies),
// with a free list so ids of compacted-away keys are reused.
class KeyTable {
 public:
  static constexpr uint32_t chunk_entries = 4096;

  key_id_t allocate(std::string_view key);
  void free(key_id_t id);
  KeyEntry& operator[](key_id_t id) { return chunks_[id / chunk_entries][id % chunk_entries]; }
  const KeyEntry& operator[](key_id_t id) const { return chunks_[id / chunk_entries][id % chunk_entries]; }
  // One past the highest id ever allocated: iterate [0, id_limit()) and skip !in_use().
  key_id_t id_limit() const { return next_id_; }
  void clear();

 private:
  std::vector<std::unique_ptr<KeyEntry[]>> chunks_;
  std::vector<key_id_t> free_ids_;
  key_id_t next_id_ = 0;
};

}  // namespace ringkv::storage::mvcc
