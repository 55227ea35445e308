// runtime/when_all.cc - task_group: members are detached frames that report back to the group.
#include "runtime/when_all.h"

#include "runtime/reactor.h"

namespace ringkv::runtime {

task_group::~task_group() {
  assert((running_ == 0 || tearing_down()) && "task_group destroyed while tasks run: co_await wait() first");
}

void task_group::spawn(task<void> work) {
  ++running_;
  detail::schedule(run_member(this, std::move(work)).frame);
}

detail::detached_task task_group::run_member(task_group* group, task<void> work) {
  std::exception_ptr error;
  try {
    co_await work;
  } catch (...) {
    error = std::current_exception();
  }
  group->member_done(error);
}

void task_group::member_done(std::exception_ptr error) noexcept {
  if (error && !first_error_) first_error_ = error;
  assert(running_ > 0);
  if (--running_ == 0 && waiter_) detail::schedule(std::exchange(waiter_, {}));
}

task<void> task_group::wait() {
  co_await wait_awaiter{*this};
  if (first_error_) std::rethrow_exception(std::exchange(first_error_, {}));
}

}  // namespace ringkv::runtime
