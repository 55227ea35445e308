// runtime/condition.cc - condition's intrusive FIFO of parked waiters.
#include "runtime/condition.h"

#include <cassert>
#include <utility>

#include "runtime/reactor.h"
#include "runtime/spawn.h"

namespace ringkv::runtime {

condition::~condition() {
  assert((waiting_ == 0 || tearing_down()) && "condition destroyed while coroutines wait on it");
}

condition::wait_awaitable::~wait_awaitable() {
  // A frame destroyed while parked leaves the list. At teardown the condition may be gone already.
  if (linked_ && !tearing_down()) owner_.unlink(*this);
}

void condition::wait_awaitable::await_suspend(std::coroutine_handle<> waiter) noexcept {
  waiter_ = waiter;
  owner_.link_back(*this);
}

void condition::link_back(wait_awaitable& node) noexcept {
  assert(!node.linked_);
  node.prev_ = tail_;
  node.next_ = nullptr;
  if (tail_ != nullptr) tail_->next_ = &node;
  else head_ = &node;
  tail_ = &node;
  node.linked_ = true;
  ++waiting_;
}

void condition::unlink(wait_awaitable& node) noexcept {
  assert(node.linked_ && waiting_ > 0);
  if (node.prev_ != nullptr) node.prev_->next_ = node.next_;
  else head_ = node.next_;
  if (node.next_ != nullptr) node.next_->prev_ = node.prev_;
  else tail_ = node.prev_;
  node.prev_ = node.next_ = nullptr;
  node.linked_ = false;
  --waiting_;
}

void condition::wake(wait_awaitable& node) {
  unlink(node);
  detail::schedule(std::exchange(node.waiter_, {}));
}

void condition::notify_one() {
  if (head_ != nullptr) wake(*head_);
}

void condition::notify_all() {
  // Only the waiters parked now: one that parks again is resumed later (scheduled, not inline), so the
  // list cannot grow while this loop runs, but stop at the current tail to say so.
  wait_awaitable* const last = tail_;
  while (head_ != nullptr) {
    wait_awaitable* const node = head_;
    wake(*node);
    if (node == last) break;
  }
}

}  // namespace ringkv::runtime
