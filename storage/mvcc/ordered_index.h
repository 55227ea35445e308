// storage/mvcc/ordered_index.h: the ordered index over keys, a B+tree of 4-byte key ids.
// Leaves hold up to leaf_capacity ids in key order and are linked for range scans; inner nodes hold
// copies of their separator keys (so freeing a key never leaves a dangling separator). Appends at the
// right edge split 100/0, so ascending loads leave leaves full (~4.3 bytes per key). Leaves that empty
// out are unlinked; nodes are not rebalanced (lookups stay correct, depth only ever shrinks).
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
  struct Leaf : Node {
    key_id_t ids[leaf_capacity];
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
