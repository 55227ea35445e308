// storage/mvcc/ordered_index.cc: B+tree insert (split), erase (unlink empty leaves), lower_bound.
#include "storage/mvcc/ordered_index.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <vector>

namespace ringkv::storage::mvcc {

OrderedIndex::OrderedIndex(const KeyTable& keys) : keys_(keys) { root_ = new_leaf(); }

OrderedIndex::~OrderedIndex() { destroy(root_); }

void OrderedIndex::clear() {
  destroy(root_);
  memory_bytes_ = 0;
  size_ = 0;
  root_ = new_leaf();
}

OrderedIndex::Leaf* OrderedIndex::new_leaf() {
  auto* leaf = new Leaf;
  leaf->leaf = true;
  memory_bytes_ += sizeof(Leaf);
  return leaf;
}

void OrderedIndex::destroy(Node* node) {
  if (node->leaf) {
    delete static_cast<Leaf*>(node);
    return;
  }
  auto* inner = static_cast<Inner*>(node);
  for (int i = 0; i < inner->n; ++i) destroy(inner->kids[i]);
  delete inner;
}

uint64_t OrderedIndex::hint_of(std::string_view key, int offset) {
  uint64_t h = 0;
  for (int i = 0; i < 8; ++i) {
    size_t at = static_cast<size_t>(offset + i);
    h = (h << 8) | (at < key.size() ? static_cast<unsigned char>(key[at]) : 0u);
  }
  return h;
}

int OrderedIndex::leaf_lower_bound(const Leaf* leaf, std::string_view key) const {
  if (leaf->n == 0) return 0;
  std::string_view prefix(leaf->prefix, leaf->hint_offset);
  if (key.substr(0, prefix.size()) != prefix) return key < prefix ? 0 : leaf->n;
  uint64_t hint = hint_of(key, leaf->hint_offset);
  int lo = 0, hi = leaf->n;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    uint64_t h = leaf->hints[mid];
    bool less = h != hint ? h < hint : key_of(leaf->ids[mid]) < key;
    if (less) lo = mid + 1; else hi = mid;
  }
  return lo;
}

void OrderedIndex::adapt_prefix(Leaf* leaf, std::string_view key) {
  if (leaf->n == 0) {
    leaf->hint_offset = static_cast<uint8_t>(std::min<size_t>(key.size(), hint_prefix_limit));
    std::memcpy(leaf->prefix, key.data(), leaf->hint_offset);
    return;
  }
  size_t shared = 0;
  while (shared < leaf->hint_offset && shared < key.size() && key[shared] == leaf->prefix[shared]) ++shared;
  if (shared == leaf->hint_offset) return;
  leaf->hint_offset = static_cast<uint8_t>(shared);
  for (int i = 0; i < leaf->n; ++i) leaf->hints[i] = hint_of(key_of(leaf->ids[i]), leaf->hint_offset);
}

OrderedIndex::Leaf* OrderedIndex::descend(std::string_view key, Path* path) const {
  Node* node = root_;
  while (!node->leaf) {
    auto* inner = static_cast<Inner*>(node);
    const std::string* seps = inner->seps;
    const std::string* seps_end = seps + (inner->n - 1);
    int i = static_cast<int>(std::upper_bound(seps, seps_end, key,
                                              [](std::string_view k, const std::string& s) { return k < s; }) -
                             seps);
    if (path != nullptr) {
      assert(path->depth < depth_limit);
      path->node[path->depth] = inner;
      path->index[path->depth] = i;
      ++path->depth;
    }
    node = inner->kids[i];
  }
  return static_cast<Leaf*>(node);
}

void OrderedIndex::insert(std::string_view key, key_id_t id) {
  Path path;
  Leaf* leaf = descend(key, &path);
  adapt_prefix(leaf, key);
  int pos = leaf_lower_bound(leaf, key);
  assert(pos == leaf->n || key_of(leaf->ids[pos]) != key);
  uint64_t hint = hint_of(key, leaf->hint_offset);
  ++size_;
  if (leaf->n < leaf_capacity) {
    std::memmove(leaf->ids + pos + 1, leaf->ids + pos, sizeof(key_id_t) * (leaf->n - pos));
    std::memmove(leaf->hints + pos + 1, leaf->hints + pos, sizeof(uint64_t) * (leaf->n - pos));
    leaf->ids[pos] = id;
    leaf->hints[pos] = hint;
    ++leaf->n;
    return;
  }
  Leaf* right = new_leaf();
  // Appending past the right edge: keep the left leaf full (ascending loads pack densely).
  int keep = (pos == leaf_capacity && leaf->next == nullptr) ? leaf_capacity : leaf_capacity / 2;
  right->n = static_cast<uint16_t>(leaf_capacity - keep);
  right->hint_offset = leaf->hint_offset;  // the right half shares the same prefix
  std::memcpy(right->prefix, leaf->prefix, leaf->hint_offset);
  std::memcpy(right->ids, leaf->ids + keep, sizeof(key_id_t) * right->n);
  std::memcpy(right->hints, leaf->hints + keep, sizeof(uint64_t) * right->n);
  leaf->n = static_cast<uint16_t>(keep);
  right->next = leaf->next;
  right->prev = leaf;
  if (leaf->next != nullptr) leaf->next->prev = right;
  leaf->next = right;
  Leaf* target = pos <= keep && keep < leaf_capacity ? leaf : right;
  int tpos = target == leaf ? pos : pos - keep;
  std::memmove(target->ids + tpos + 1, target->ids + tpos, sizeof(key_id_t) * (target->n - tpos));
  std::memmove(target->hints + tpos + 1, target->hints + tpos, sizeof(uint64_t) * (target->n - tpos));
  target->ids[tpos] = id;
  target->hints[tpos] = hint;
  ++target->n;
  insert_into_parent(path, std::string(key_of(right->ids[0])), right);
}

void OrderedIndex::insert_into_parent(Path& path, std::string sep, Node* right) {
  if (path.depth == 0) {
    auto* root = new Inner;
    memory_bytes_ += sizeof(Inner);
    root->leaf = false;
    root->n = 2;
    root->kids[0] = root_;
    root->kids[1] = right;
    root->seps[0] = std::move(sep);
    root_ = root;
    return;
  }
  --path.depth;
  Inner* parent = path.node[path.depth];
  int i = path.index[path.depth];  // `right` goes to kids[i + 1], `sep` to seps[i]
  if (parent->n < inner_capacity) {
    for (int k = parent->n - 1; k > i; --k) {
      parent->kids[k + 1] = parent->kids[k];
      parent->seps[k] = std::move(parent->seps[k - 1]);
    }
    parent->kids[i + 1] = right;
    parent->seps[i] = std::move(sep);
    ++parent->n;
    return;
  }
  // Split a full inner node: gather n + 1 children, keep the left half, promote the middle separator.
  std::vector<Node*> kids(parent->kids, parent->kids + parent->n);
  std::vector<std::string> seps;
  for (int k = 0; k < parent->n - 1; ++k) seps.push_back(std::move(parent->seps[k]));
  kids.insert(kids.begin() + i + 1, right);
  seps.insert(seps.begin() + i, std::move(sep));
  int left_n = static_cast<int>(kids.size()) / 2;
  auto* sibling = new Inner;
  memory_bytes_ += sizeof(Inner);
  sibling->leaf = false;
  parent->n = static_cast<uint16_t>(left_n);
  sibling->n = static_cast<uint16_t>(kids.size() - left_n);
  for (int k = 0; k < left_n; ++k) parent->kids[k] = kids[k];
  for (int k = 0; k < left_n - 1; ++k) parent->seps[k] = std::move(seps[k]);
  for (int k = 0; k < sibling->n; ++k) sibling->kids[k] = kids[left_n + k];
  for (int k = 0; k < sibling->n - 1; ++k) sibling->seps[k] = std::move(seps[left_n + k]);
  insert_into_parent(path, std::move(seps[left_n - 1]), sibling);
}

void OrderedIndex::erase(std::string_view key) {
  Path path;
  Leaf* leaf = descend(key, &path);
  int pos = leaf_lower_bound(leaf, key);
  assert(pos < leaf->n && key_of(leaf->ids[pos]) == key);
  std::memmove(leaf->ids + pos, leaf->ids + pos + 1, sizeof(key_id_t) * (leaf->n - pos - 1));
  std::memmove(leaf->hints + pos, leaf->hints + pos + 1, sizeof(uint64_t) * (leaf->n - pos - 1));
  --leaf->n;
  --size_;
  if (leaf->n > 0 || path.depth == 0) return;
  if (leaf->prev != nullptr) leaf->prev->next = leaf->next;
  if (leaf->next != nullptr) leaf->next->prev = leaf->prev;
  delete leaf;
  memory_bytes_ -= sizeof(Leaf);
  remove_from_parent(path);
  while (!root_->leaf && root_->n == 1) {  // collapse a root with a single child
    auto* old = static_cast<Inner*>(root_);
    root_ = old->kids[0];
    delete old;
    memory_bytes_ -= sizeof(Inner);
  }
}

// Removes kids[index] (already freed) from the deepest node on the path, recursing when it empties.
void OrderedIndex::remove_from_parent(Path& path) {
  --path.depth;
  Inner* parent = path.node[path.depth];
  int i = path.index[path.depth];
  int sep_to_drop = i > 0 ? i - 1 : 0;
  for (int k = i; k < parent->n - 1; ++k) parent->kids[k] = parent->kids[k + 1];
  if (parent->n > 1) {
    for (int k = sep_to_drop; k < parent->n - 2; ++k) parent->seps[k] = std::move(parent->seps[k + 1]);
    parent->seps[parent->n - 2].clear();
  }
  --parent->n;
  if (parent->n > 0) return;
  if (path.depth == 0) {  // the root emptied: start over with an empty leaf
    delete parent;
    memory_bytes_ -= sizeof(Inner);
    root_ = new_leaf();
    return;
  }
  delete parent;
  memory_bytes_ -= sizeof(Inner);
  remove_from_parent(path);
}

OrderedIndex::Cursor OrderedIndex::lower_bound(std::string_view key) const {
  Cursor c;
  const Leaf* leaf = descend(key, nullptr);
  c.leaf_ = leaf;
  c.pos_ = leaf_lower_bound(leaf, key);
  c.settle();
  return c;
}

void OrderedIndex::Cursor::settle() {
  while (leaf_ != nullptr && pos_ >= leaf_->n) {
    leaf_ = leaf_->next;
    pos_ = 0;
  }
}

void OrderedIndex::Cursor::next() {
  ++pos_;
  settle();
}

}  // namespace ringkv::storage::mvcc
