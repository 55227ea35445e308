// server/common/wakeup.h — one-shot completions and a level-triggered wakeup for the node loop, on one shard.
// Waiters are resumed through the shard's ready queue (runtime::detail::schedule), never inline from
// the code that completes them, so the node loop's turn is never re-entered by a handler.
#pragma once

#include <cassert>
#include <coroutine>
#include <optional>
#include <utility>

#include "runtime/spawn.h"

namespace ringkv::server {

// A value delivered once to at most one waiter. Lives in the waiter's frame; the producer holds a
// pointer and must not use it after set().
template <typename T>
class completion {
 public:
  completion() = default;
  completion(const completion&) = delete;
  completion& operator=(const completion&) = delete;

  void set(T value) {
    assert(!value_ && "a completion is set once");
    value_.emplace(std::move(value));
    if (waiter_) runtime::detail::schedule(std::exchange(waiter_, {}));
  }
  bool done() const { return value_.has_value(); }

  struct awaiter {
    completion& self;
    bool await_ready() const noexcept { return self.value_.has_value(); }
    void await_suspend(std::coroutine_handle<> waiter) noexcept { self.waiter_ = waiter; }
    T await_resume() { return std::move(*self.value_); }
  };
  awaiter operator co_await() { return awaiter{*this}; }

 private:
  std::optional<T> value_;
  std::coroutine_handle<> waiter_;
};

// A flag the loop waits on: notify() sets it (and wakes the loop if it waits); co_await clears it.
class wakeup {
 public:
  void notify() {
    signalled_ = true;
    if (waiter_) runtime::detail::schedule(std::exchange(waiter_, {}));
  }
  struct awaiter {
    wakeup& self;
    bool await_ready() const noexcept { return self.signalled_; }
    void await_suspend(std::coroutine_handle<> waiter) noexcept { self.waiter_ = waiter; }
    void await_resume() noexcept { self.signalled_ = false; }
  };
  awaiter operator co_await() { return awaiter{*this}; }

 private:
  bool signalled_ = false;
  std::coroutine_handle<> waiter_;
};

}  // namespace ringkv::server
