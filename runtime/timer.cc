// runtime/timer.cc - sleep_awaitable, deadline_guard, alarm and yield on the shard's timer heap.
#include "runtime/timer.h"

#include "runtime/reactor_impl.h"

namespace ringkv::runtime {

namespace detail {
bool arm_timer(timer_entry& entry) { return reactor::current().arm(entry); }
void disarm_timer(timer_entry& entry) {
  if (entry.heap_index != not_in_heap) reactor::current().disarm(entry);
}
}  // namespace detail

sleep_awaitable::sleep_awaitable(clock::time_point deadline, cancel_token* token) noexcept : token_(token) {
  this->deadline = deadline;
  on_fire = &sleep_awaitable::fire;
  on_cancel = &sleep_awaitable::cancel;
}

sleep_awaitable::~sleep_awaitable() {
  if (detail::cancellable::token != nullptr) detail::cancellable::token->detach(this);
  detail::disarm_timer(*this);
}

bool sleep_awaitable::await_ready() const noexcept { return deadline <= clock::now(); }

bool sleep_awaitable::await_suspend(std::coroutine_handle<> waiter) {
  if (token_ != nullptr && token_->cancelled()) {
    result_ = -ECANCELED;
    return false;
  }
  if (!detail::arm_timer(*this)) {  // the runtime is shutting down: end now, but through the ready
    result_ = -ECANCELED;            // queue, so a loop that ignores the result still yields
    detail::schedule(waiter);
    return true;
  }
  waiter_ = waiter;
  if (token_ != nullptr) token_->attach(this);
  return true;
}

void sleep_awaitable::fire(detail::timer_entry* entry, int result) {
  auto* self = static_cast<sleep_awaitable*>(entry);
  if (self->detail::cancellable::token != nullptr) self->detail::cancellable::token->detach(self);
  self->result_ = result;
  self->waiter_.resume();
}

void sleep_awaitable::cancel(detail::cancellable* op) {
  // Called from cancel_source::cancel(), which already unlinked us: leave the heap, resume later (not
  // inside the canceller's call stack).
  auto* self = static_cast<sleep_awaitable*>(op);
  detail::disarm_timer(*self);
  self->result_ = -ECANCELED;
  detail::schedule(self->waiter_);
}

sleep_awaitable sleep_until(clock::time_point deadline, cancel_token* token) noexcept {
  return sleep_awaitable(deadline, token);
}

sleep_awaitable sleep_for(std::chrono::nanoseconds duration, cancel_token* token) noexcept {
  return sleep_awaitable(clock::now() + duration, token);
}

deadline_guard::deadline_guard(clock::time_point deadline, cancel_source& source) : source_(source) {
  this->deadline = deadline;
  on_fire = &deadline_guard::fire;
  detail::arm_timer(*this);
}

void deadline_guard::fire(detail::timer_entry* entry, int result) {
  auto* self = static_cast<deadline_guard*>(entry);
  if (result == 0) self->expired_ = true;
  self->source_.cancel();
}

alarm::alarm(clock::time_point deadline, std::function<void()> on_expiry) : on_expiry_(std::move(on_expiry)) {
  this->deadline = deadline;
  on_fire = &alarm::fire;
  detail::arm_timer(*this);
}

void alarm::fire(detail::timer_entry* entry, int result) {
  auto* self = static_cast<alarm*>(entry);
  if (result != 0) return;  // the runtime shuts down: an alarm fires only for a deadline that passed
  self->expired_ = true;
  self->on_expiry_();
}

void yield_awaitable::await_suspend(std::coroutine_handle<> waiter) const { detail::schedule(waiter); }

}  // namespace ringkv::runtime
