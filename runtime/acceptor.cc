// runtime/acceptor.cc - multishot accept: arming, delivering completions to waiters, backpressure, close.
#include "runtime/acceptor.h"

#include <unistd.h>

#include <cassert>
#include <cerrno>

#include "runtime/reactor_impl.h"

namespace ringkv::runtime {

acceptor::acceptor(int listen_fd, std::size_t ready_limit) : listen_fd_(listen_fd), ready_limit_(ready_limit) {
  assert(ready_limit_ > 0);
  completion_.owner = this;
  completion_.on_complete = &acceptor::on_accepted;
}

acceptor::~acceptor() {
  assert(!armed_ && "acceptor destroyed while the kernel holds its request: co_await close() first");
  assert((waiters_head_ == nullptr || tearing_down()) && "acceptor destroyed with accept() pending");
  for (int fd : ready_fds_) ::close(fd);
}

void acceptor::arm() {
  if (armed_ || closed_ || ready_fds_.size() >= ready_limit_) return;
  if (detail::reactor::current().start_multishot_accept(listen_fd_, completion_)) armed_ = true;
  else deliver(-ECANCELED);  // shutting down: nothing new reaches the kernel
}

void acceptor::on_accepted(detail::completion* done, int result, std::uint32_t flags) {
  acceptor& self = *static_cast<multishot_completion*>(done)->owner;
  const bool request_ended = !detail::reactor::more_completions_follow(flags);
  if (request_ended) {
    self.armed_ = false;
    self.stopping_ = false;
    detail::reactor::current().multishot_ended();
  }
  if (result >= 0) {
    if (accept_awaitable* waiter = self.pop_waiter()) {
      waiter->result_ = result;
      detail::schedule(waiter->waiter_);
    } else {
      self.ready_fds_.push_back(result);
    }
  } else if (result != -ECANCELED || self.closed_) {
    self.deliver(result);  // a real error ends the request: tell whoever waits (they may retry)
  }
  if (request_ended) {
    if (self.close_waiter_) detail::schedule(std::exchange(self.close_waiter_, {}));
    else if (self.waiters_head_ != nullptr) self.arm();  // paused or ended while someone still waits
    return;
  }
  if (self.ready_fds_.size() >= self.ready_limit_ && !self.stopping_) {  // backpressure: pause the request
    self.stopping_ = true;
    detail::reactor::current().cancel_completion(self.completion_);
  }
}

// Fails every waiter with `result` (errors end the multishot request; shutdown; close).
void acceptor::deliver(int result) {
  while (accept_awaitable* waiter = pop_waiter()) {
    waiter->result_ = result;
    detail::schedule(waiter->waiter_);
  }
}

void acceptor::enqueue(accept_awaitable& waiter) noexcept {
  waiter.next_ = nullptr;
  waiter.queued_ = true;
  if (waiters_tail_ != nullptr) waiters_tail_->next_ = &waiter;
  else waiters_head_ = &waiter;
  waiters_tail_ = &waiter;
}

acceptor::accept_awaitable* acceptor::pop_waiter() noexcept {
  accept_awaitable* waiter = waiters_head_;
  if (waiter == nullptr) return nullptr;
  waiters_head_ = waiter->next_;
  if (waiters_head_ == nullptr) waiters_tail_ = nullptr;
  waiter->queued_ = false;
  if (waiter->detail::cancellable::token != nullptr) waiter->detail::cancellable::token->detach(waiter);
  return waiter;
}

void acceptor::remove(accept_awaitable& waiter) noexcept {
  accept_awaitable* previous = nullptr;
  for (accept_awaitable* at = waiters_head_; at != nullptr; previous = at, at = at->next_) {
    if (at != &waiter) continue;
    if (previous != nullptr) previous->next_ = at->next_;
    else waiters_head_ = at->next_;
    if (waiters_tail_ == at) waiters_tail_ = previous;
    waiter.queued_ = false;
    return;
  }
}

task<void> acceptor::close() {
  closed_ = true;
  deliver(-ECANCELED);
  if (armed_) {
    if (!stopping_) {
      stopping_ = true;
      detail::reactor::current().cancel_completion(completion_);
    }
    struct wait_for_last_completion {
      acceptor& self;
      bool await_ready() const noexcept { return !self.armed_; }
      void await_suspend(std::coroutine_handle<> waiter) noexcept { self.close_waiter_ = waiter; }
      void await_resume() const noexcept {}
    };
    co_await wait_for_last_completion{*this};
  }
  for (int fd : ready_fds_) co_await io::close(fd);
  ready_fds_.clear();
}

acceptor::accept_awaitable::accept_awaitable(acceptor& owner, cancel_token* token) noexcept
    : owner_(owner), token_(token) {
  on_cancel = &accept_awaitable::cancel;
}

acceptor::accept_awaitable::~accept_awaitable() {
  if (detail::cancellable::token != nullptr) detail::cancellable::token->detach(this);
  if (queued_) owner_.remove(*this);
}

bool acceptor::accept_awaitable::await_ready() noexcept {
  if (owner_.closed_ || (token_ != nullptr && token_->cancelled())) {
    result_ = -ECANCELED;
    return true;
  }
  if (owner_.ready_fds_.empty()) return false;
  result_ = owner_.ready_fds_.front();
  owner_.ready_fds_.pop_front();
  owner_.arm();  // may have been paused at the limit
  return true;
}

bool acceptor::accept_awaitable::await_suspend(std::coroutine_handle<> waiter) {
  waiter_ = waiter;
  owner_.enqueue(*this);
  if (token_ != nullptr) token_->attach(this);
  owner_.arm();
  return true;  // arm() may already have failed us (shutdown): we are on the ready queue then
}

void acceptor::accept_awaitable::cancel(detail::cancellable* self) {
  auto* waiter = static_cast<accept_awaitable*>(self);
  waiter->owner_.remove(*waiter);
  waiter->result_ = -ECANCELED;
  detail::schedule(waiter->waiter_);
}

}  // namespace ringkv::runtime
