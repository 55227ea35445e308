// runtime/timer.h - sleeping, deadlines and timeouts on the shard's timer heap.
//
// Timers live in a per-shard heap ordered by (deadline, arming order) behind the loop's single kernel
// wait, so timers with the same deadline fire in the order they were armed. A cancelled timer is removed
// from the heap and never fires. All use std::chrono::steady_clock.
#pragma once

#include <cerrno>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <utility>

#include "runtime/cancel.h"
#include "runtime/task.h"

namespace ringkv::runtime {

using clock = std::chrono::steady_clock;

namespace detail {

inline constexpr std::size_t not_in_heap = ~std::size_t{0};

struct timer_entry {
  clock::time_point deadline{};
  std::uint64_t sequence = 0;              // arming order: ties fire first-armed first
  std::size_t heap_index = not_in_heap;    // position in the shard's heap while armed
  void (*on_fire)(timer_entry* self, int result) = nullptr;  // result: 0 expired, -ECANCELED at shutdown
};

bool arm_timer(timer_entry& entry);     // on this shard; false (not armed) once shutdown began
void disarm_timer(timer_entry& entry);  // no-op when not armed

}  // namespace detail

// co_await yields 0 when the deadline passed, -ECANCELED when cancelled through the token or when the
// runtime shuts down. An already-passed deadline yields 0 without suspending.
class [[nodiscard]] sleep_awaitable : detail::timer_entry, detail::cancellable {
 public:
  sleep_awaitable(clock::time_point deadline, cancel_token* token) noexcept;
  sleep_awaitable(const sleep_awaitable&) = delete;
  sleep_awaitable& operator=(const sleep_awaitable&) = delete;
  ~sleep_awaitable();

  bool await_ready() const noexcept;
  bool await_suspend(std::coroutine_handle<> waiter);
  int await_resume() const noexcept { return result_; }

 private:
  static void fire(detail::timer_entry* self, int result);
  static void cancel(detail::cancellable* self);

  cancel_token* token_;
  std::coroutine_handle<> waiter_;
  int result_ = 0;
};

sleep_awaitable sleep_until(clock::time_point deadline, cancel_token* token = nullptr) noexcept;
sleep_awaitable sleep_for(std::chrono::nanoseconds duration, cancel_token* token = nullptr) noexcept;

// Cancels a cancel_source when a deadline passes (unless disarmed first). Lives in a coroutine frame.
class deadline_guard : detail::timer_entry {
 public:
  deadline_guard(clock::time_point deadline, cancel_source& source);
  deadline_guard(const deadline_guard&) = delete;
  deadline_guard& operator=(const deadline_guard&) = delete;
  ~deadline_guard() { detail::disarm_timer(*this); }

  bool expired() const noexcept { return expired_; }

 private:
  static void fire(detail::timer_entry* self, int result);
  cancel_source& source_;
  bool expired_ = false;
};

// Calls `on_expiry` once, from the shard's loop, when the deadline passes - unless the alarm is destroyed
// first (or the runtime shuts down: then it never fires). The callback must not block; it typically
// sets a flag and notifies a condition, or shuts a socket down. Lives in a coroutine frame or object
// that outlives its arming; destroying it disarms it. The one primitive for "give up on this at T".
class alarm : detail::timer_entry {
 public:
  alarm(clock::time_point deadline, std::function<void()> on_expiry);
  alarm(const alarm&) = delete;
  alarm& operator=(const alarm&) = delete;
  ~alarm() { detail::disarm_timer(*this); }

  void disarm() noexcept { detail::disarm_timer(*this); }  // it will not fire (no-op once it has)
  bool expired() const noexcept { return expired_; }

 private:
  static void fire(detail::timer_entry* self, int result);
  std::function<void()> on_expiry_;
  bool expired_ = false;
};

// Runs make(token) - anything awaitable yielding int that honours the token - and cancels it when
// `timeout` passes first: the result is then -ETIMEDOUT. Example:
//   int rc = co_await with_timeout(2s, [&](cancel_token* t) { return io::connect(fd, addr, len, t); });
template <typename Make>
task<int> with_timeout(std::chrono::nanoseconds timeout, Make make) {
  cancel_source source;
  deadline_guard guard(clock::now() + timeout, source);
  const int result = co_await make(source.token());
  if (guard.expired() && result == -ECANCELED) co_return -ETIMEDOUT;
  co_return result;
}

// Lets every other ready coroutine of this shard run, then continues.
struct yield_awaitable {
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> waiter) const;
  void await_resume() const noexcept {}
};
inline yield_awaitable yield() noexcept { return {}; }

}  // namespace ringkv::runtime
