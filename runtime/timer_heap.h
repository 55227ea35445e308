// runtime/timer_heap.h - a shard's armed timers: a binary min-heap of intrusive entries.
// Arm, disarm and pop are O(log n) and allocate nothing once the vector has grown.
#pragma once

#include <vector>

#include "runtime/timer.h"

namespace ringkv::runtime::detail {

class timer_heap {
 public:
  void push(timer_entry& entry);
  void remove(timer_entry& entry);
  timer_entry* earliest() const noexcept { return entries_.empty() ? nullptr : entries_.front(); }
  timer_entry* pop_expired(clock::time_point now);  // nullptr when none is due
  bool empty() const noexcept { return entries_.empty(); }
  std::size_t size() const noexcept { return entries_.size(); }

 private:
  static bool before(const timer_entry* a, const timer_entry* b) noexcept {
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->sequence < b->sequence);
  }
  void place(std::size_t index, timer_entry* entry) noexcept;
  void sift_up(std::size_t index) noexcept;
  void sift_down(std::size_t index) noexcept;

  std::vector<timer_entry*> entries_;
  std::uint64_t next_sequence_ = 0;
};

}  // namespace ringkv::runtime::detail
