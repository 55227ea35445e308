// runtime/gate.cc - gate: the count of entries, the closer's wake-up, spawned members.
#include "runtime/gate.h"

#include "runtime/reactor.h"

namespace ringkv::runtime {

gate::~gate() {
  assert((inside_ == 0 || tearing_down()) && "gate destroyed while tasks are inside: co_await close() first");
}

void gate::holder::release() noexcept {
  // At teardown frames go in no particular order: the gate may be gone already, so leave it alone.
  if (gate_ != nullptr && !tearing_down()) gate_->leave();
  gate_ = nullptr;
}

gate::holder gate::enter() noexcept {
  if (closed_) return holder();
  ++inside_;
  return holder(this);
}

bool gate::spawn(task<void> work) {
  if (closed_) return false;
  ++inside_;  // counted before it starts, so a close() right after waits for it
  detail::schedule(run_member(this, std::move(work)).frame);
  return true;
}

// A detached frame; destroyed at teardown without reaching leave() (the gate may be gone by then).
detail::detached_task gate::run_member(gate* owner, task<void> work) {
  std::exception_ptr error;
  try {
    co_await work;
  } catch (...) {
    error = std::current_exception();
  }
  if (error && !owner->first_error_) owner->first_error_ = error;
  owner->leave();
}

void gate::leave() noexcept {
  assert(inside_ > 0 && "left a gate more often than entered");
  if (--inside_ == 0 && closer_) detail::schedule(std::exchange(closer_, {}));
}

task<void> gate::close() {
  assert(!closed_ && "a gate is closed once");
  closed_ = true;  // now, not when the returned task is awaited
  return wait_empty();
}

task<void> gate::wait_empty() {
  co_await empty_awaiter{*this};
  assert(inside_ == 0);
  if (first_error_) std::rethrow_exception(std::exchange(first_error_, {}));
}

}  // namespace ringkv::runtime
