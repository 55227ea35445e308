// runtime/completion.h - completion<T>: one value, delivered once, to at most one waiter on this shard.
//
//   waiter (owns the completion)            producer (holds a pointer)
//   completion<int> done;
//   start(&done) ---------------------------> ...
//   int v = co_await done;  (suspends)        done->set(7);   // schedules the waiter, returns at once
//                                             (must not touch `done` again)
//   <- resumed at a later ready-queue turn, v == 7
//
// The waiter is resumed through the shard's ready queue, never inline from set(): the producer's code
// after set() runs first, and its loop turn is never re-entered by the waiter. set() may come before the
// co_await (the co_await then continues at once) and is asserted to happen once. Single shard, no atomics.
#pragma once

#include <cassert>
#include <coroutine>
#include <optional>
#include <utility>

#include "runtime/spawn.h"  // detail::schedule

namespace ringkv::runtime {

template <typename T>
class completion {
 public:
  completion() = default;
  completion(const completion&) = delete;
  completion& operator=(const completion&) = delete;

  // Delivers the value; wakes the waiter (if one is parked) at the next ready-queue turn.
  void set(T value) {
    assert(!value_ && "a completion is set once");
    value_.emplace(std::move(value));
    if (waiter_) detail::schedule(std::exchange(waiter_, {}));
  }
  bool done() const noexcept { return value_.has_value(); }

  struct awaiter {
    completion& self;
    bool await_ready() const noexcept { return self.value_.has_value(); }
    void await_suspend(std::coroutine_handle<> waiter) noexcept {
      assert(!self.waiter_ && "a completion has one waiter");
      self.waiter_ = waiter;
    }
    // Moves the value out: await a completion once.
    T await_resume() {
      assert(self.value_ && "resumed before set()");
      return std::move(*self.value_);
    }
  };
  awaiter operator co_await() noexcept { return awaiter{*this}; }

 private:
  std::optional<T> value_;          // engaged once set() ran
  std::coroutine_handle<> waiter_;  // the parked waiter; empty once scheduled
};

}  // namespace ringkv::runtime
