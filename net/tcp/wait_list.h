// wait_list: coroutines of one shard parked until some state changes (send-buffer space freed, bytes
// sent, a connection's last operation finished). wake_all() resumes every waiter, in arrival order, on
// the caller's stack; each waiter re-checks its condition and may park again. Waiters live in their
// own coroutine frames (intrusive list), so parking allocates nothing. Not thread-safe: one shard only.
#pragma once

#include <cassert>
#include <coroutine>

#include "runtime/reactor.h"

namespace ringkv::net {

class wait_list {
 public:
  struct awaiter {
    wait_list& list;
    std::coroutine_handle<> handle;
    awaiter* next = nullptr;

    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) noexcept {
      handle = h;
      *list.tail_ = this;
      list.tail_ = &next;
    }
    void await_resume() const noexcept {}
  };

  wait_list() = default;
  wait_list(const wait_list&) = delete;
  wait_list& operator=(const wait_list&) = delete;
  // While the runtime tears down (runtime::tearing_down()), leftover frames are destroyed in any order,
  // so a wait_list may legitimately die with its parked waiters' frames already or about to be destroyed.
  ~wait_list() {
    assert((empty() || runtime::tearing_down()) && "a coroutine is still parked on a destroyed wait_list");
  }

  awaiter wait() { return awaiter{*this, {}}; }
  bool empty() const { return head_ == nullptr; }

  // Resumes the waiters parked before this call; ones that park again wait for the next wake_all().
  void wake_all() {
    awaiter* w = head_;
    head_ = nullptr;
    tail_ = &head_;
    while (w) {
      awaiter* next = w->next;  // read first: resuming may end the waiter's frame
      w->handle.resume();
      w = next;
    }
  }

 private:
  awaiter* head_ = nullptr;
  awaiter** tail_ = &head_;
};

}  // namespace ringkv::net
