// storage/mvcc/ordered_index.h: the ordered index over keys, a B+tree of 4-byte key ids.
// Leaves hold up to leaf_capacity ids in key order and are linked for range scans; inner nodes hold
// copies of their separator keys (so freeing a key never leaves a dangling separator). Appends at the
// right edge split 100/0, so ascending loads leave leaves full (~4.3 bytes per key). Leaves that empty
// out are unlinked; nodes are not rebalanced (lookups stay correct, depth only ever shrinks). Leaves keep
// 8-byte key hints after their common prefix, so a leaf search rarely touches a key entry.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "storage/mvcc/key_table.h"

namespace ringkv::storage::mvcc {

class OrderedIndex {
 public:
  static constexpr int leaf_capacity = 64;
  static constexpr int inner_capacity = 64;  // children per inner node
  static constexpr int depth_limit = 32;
  static constexpr int hint_prefix_limit = 24;  // longest shared leaf prefix kept for hints

  explicit OrderedIndex(const KeyTable& keys);
  ~OrderedIndex();
  OrderedIndex(const OrderedIndex&) = delete;
  OrderedIndex& operator=(const OrderedIndex&) = delete;

  void insert(std::string_view key, key_id_t id);  // the key must be absent
  void erase(std::string_view key);                // the key must be present
  void clear();
  size_t size() const { return size_; }
  size_t memory_bytes() const { return memory_bytes_; }

 private:
  struct Node {
    bool leaf;
    uint16_t n = 0;  // ids in a leaf, children in an inner node
  };
  // Every key in a leaf starts with prefix[0, hint_offset); hints[i] holds the 8 bytes of key i after
  // that prefix (big-endian, zero padded), so the binary search compares integers and reads a key only
  // when two hints tie. Keys a < b always have hint(a) <= hint(b).
  struct Leaf : Node {
    uint8_t hint_offset = 0;
    char prefix[hint_prefix_limit];
    key_id_t ids[leaf_capacity];
    uint64_t hints[leaf_capacity];
    Leaf* next = nullptr;
    Leaf* prev = nullptr;
  };
  struct Inner : Node {
    std::string seps[inner_capacity - 1];  // seps[i]: every key under kids[i + 1] is >= seps[i]
    Node* kids[inner_capacity];
  };
  struct Path {
    Inner* node[depth_limit];
    int index[depth_limit];
    int depth = 0;
  };

 public:
  // Position in key order; invalid once past the last key. Invalidated by insert/erase.
  class Cursor {
   public:
    bool valid() const { return leaf_ != nullptr; }
    key_id_t id() const { return leaf_->ids[pos_]; }
    void next();

   private:
    friend class OrderedIndex;
    void settle();
    const Leaf* leaf_ = nullptr;
    int pos_ = 0;
  };
  Cursor lower_bound(std::string_view key) const;
  Cursor begin() const { return lower_bound({}); }

 private:
  std::string_view key_of(key_id_t id) const { return keys_[id].key(); }
  Leaf* descend(std::string_view key, Path* path) const;
  int leaf_lower_bound(const Leaf* leaf, std::string_view key) const;
  static uint64_t hint_of(std::string_view key, int offset);
  // Makes `key` share the leaf's prefix, shortening it (and recomputing hints) if needed.
  void adapt_prefix(Leaf* leaf, std::string_view key);
  void insert_into_parent(Path& path, std::string sep, Node* right);
  void remove_from_parent(Path& path);
  Leaf* new_leaf();
  void destroy(Node* node);

  const KeyTable& keys_;
  Node* root_ = nullptr;
  size_t size_ = 0;
  size_t memory_bytes_ = 0;
};

}  // namespace ringkv::storage::mvcc
