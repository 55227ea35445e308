// runtime/notifier.h - notifier: a level-triggered flag with one waiter on this shard.
//
// notify() raises the flag and, if a coroutine is parked in `co_await n`, schedules it on the shard's
// ready queue (never resumes it inline: the notifier's caller continues first). `co_await n` continues
// at once when the flag is up, otherwise parks; either way it lowers the flag. Notifies that come
// before the waiter runs coalesce into one wake, so a waiter loops like:
//
//   while (true) { co_await work_ready; drain_everything(); }
//
// One waiter at a time (asserted). The notifier must outlive a scheduled waiter's resumption (it lives
// in the waiter's frame or in an object that outlives the waiter). Single shard, no atomics.
#pragma once

#include <cassert>
#include <coroutine>
#include <utility>

#include "runtime/spawn.h"  // detail::schedule

namespace ringkv::runtime {

class notifier {
 public:
  notifier() = default;
  notifier(const notifier&) = delete;
  notifier& operator=(const notifier&) = delete;

  void notify() {
    signalled_ = true;
    if (waiter_) detail::schedule(std::exchange(waiter_, {}));
  }
  // True while a notify() has not been consumed by a co_await.
  bool signalled() const noexcept { return signalled_; }

  struct awaiter {
    notifier& self;
    bool await_ready() const noexcept { return self.signalled_; }
    void await_suspend(std::coroutine_handle<> waiter) noexcept {
      assert(!self.waiter_ && "a notifier has one waiter at a time");
      self.waiter_ = waiter;
    }
    void await_resume() const noexcept { self.signalled_ = false; }
  };
  awaiter operator co_await() noexcept { return awaiter{*this}; }

 private:
  bool signalled_ = false;
  std::coroutine_handle<> waiter_;  // the parked waiter; empty once scheduled
};

}  // namespace ringkv::runtime
