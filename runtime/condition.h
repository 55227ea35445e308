// runtime/condition.h - condition: a condition variable for coroutines of one shard.
//
// `co_await cond.wait()` parks the caller until the next notify_one() / notify_all(); a condition holds
// no state of its own, so a notify with nobody waiting is lost (test your predicate before waiting, or
// use wait_until). Waiters are resumed in the order they started waiting, through the shard's ready
// queue, never inline: the notifier's caller continues first, and a waiter re-checks its predicate
// after resuming because the world may have changed in between. A waiter that parks again while others
// are being woken waits for the next notify. Any number of waiters; each one's link lives in its own
// frame (no allocation), and unlinks itself if the frame is destroyed while parked. Single shard.
#pragma once

#include <coroutine>
#include <cstddef>

#include "runtime/task.h"
#include "runtime/timer.h"

namespace ringkv::runtime {

class condition {
 public:
  condition() = default;
  condition(const condition&) = delete;
  condition& operator=(const condition&) = delete;
  ~condition();  // asserts nobody waits (unless the runtime is tearing down)

  class [[nodiscard]] wait_awaitable {
   public:
    explicit wait_awaitable(condition& owner) noexcept : owner_(owner) {}
    wait_awaitable(const wait_awaitable&) = delete;
    wait_awaitable& operator=(const wait_awaitable&) = delete;
    ~wait_awaitable();

    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> waiter) noexcept;
    void await_resume() const noexcept {}

   private:
    friend class condition;
    condition& owner_;
    wait_awaitable* prev_ = nullptr;
    wait_awaitable* next_ = nullptr;
    std::coroutine_handle<> waiter_;
    bool linked_ = false;  // true while parked in owner_'s list
  };

  // Parks until the next notify_one() / notify_all().
  wait_awaitable wait() noexcept { return wait_awaitable(*this); }

  // Parks until pred() holds; pred is tested first, and again after every wake.
  template <typename Pred>
  task<void> wait_until(Pred pred) {
    while (!pred()) co_await wait();
  }

  // The same, giving up once `deadline` passes (an alarm wakes the waiters then); returns pred() at the end.
  template <typename Pred>
  task<bool> wait_until(Pred pred, clock::time_point deadline) {
    bool expired = false;
    const alarm give_up(deadline, [&] {
      expired = true;
      notify_all();
    });
    while (!pred() && !expired) co_await wait();
    co_return pred();
  }

  void notify_one();  // schedules the longest-waiting waiter, if any
  void notify_all();  // schedules every waiter parked now, oldest first

  std::size_t waiting() const noexcept { return waiting_; }

 private:
  void link_back(wait_awaitable& node) noexcept;
  void unlink(wait_awaitable& node) noexcept;
  void wake(wait_awaitable& node);

  wait_awaitable* head_ = nullptr;  // oldest waiter
  wait_awaitable* tail_ = nullptr;  // newest waiter
  std::size_t waiting_ = 0;         // nodes in the list
};

}  // namespace ringkv::runtime
