// runtime/timer_heap.cc - binary min-heap keyed by (deadline, sequence).
#include "runtime/timer_heap.h"

#include <cassert>

namespace ringkv::runtime::detail {

void timer_heap::place(std::size_t index, timer_entry* entry) noexcept {
  entries_[index] = entry;
  entry->heap_index = index;
}

void timer_heap::sift_up(std::size_t index) noexcept {
  timer_entry* moving = entries_[index];
  while (index > 0) {
    const std::size_t parent = (index - 1) / 2;
    if (!before(moving, entries_[parent])) break;
    place(index, entries_[parent]);
    index = parent;
  }
  place(index, moving);
}

void timer_heap::sift_down(std::size_t index) noexcept {
  timer_entry* moving = entries_[index];
  const std::size_t count = entries_.size();
  for (;;) {
    std::size_t child = 2 * index + 1;
    if (child >= count) break;
    if (child + 1 < count && before(entries_[child + 1], entries_[child])) ++child;
    if (!before(entries_[child], moving)) break;
    place(index, entries_[child]);
    index = child;
  }
  place(index, moving);
}

void timer_heap::push(timer_entry& entry) {
  assert(entry.heap_index == not_in_heap);
  entry.sequence = next_sequence_++;
  entries_.push_back(&entry);
  sift_up(entries_.size() - 1);
}

void timer_heap::remove(timer_entry& entry) {
  const std::size_t index = entry.heap_index;
  assert(index < entries_.size() && entries_[index] == &entry);
  timer_entry* last = entries_.back();
  entries_.pop_back();
  entry.heap_index = not_in_heap;
  if (last == &entry) return;
  place(index, last);
  sift_up(index);
  sift_down(last->heap_index);
}

timer_entry* timer_heap::pop_expired(clock::time_point now) {
  if (entries_.empty() || entries_.front()->deadline > now) return nullptr;
  timer_entry* due = entries_.front();
  remove(*due);
  return due;
}

}  // namespace ringkv::runtime::detail
