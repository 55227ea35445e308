// runtime/when_all.h - waiting for several tasks: when_all (results together) and task_group.
//
// when_all starts every task at once on this shard and resumes the awaiter when the last one ends;
// results come back in argument order (a void task gives std::monostate). If any task throws, the rest
// still run to completion, then the first exception is rethrown. task_group is for a varying number of
// fire-and-wait tasks: spawn() starts one, wait() resumes when all spawned so far have finished and
// rethrows the first exception among them. A group must be waited on before it is destroyed.
#pragma once

#include <array>
#include <cassert>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "runtime/spawn.h"
#include "runtime/task.h"

namespace ringkv::runtime {

namespace detail {

struct when_all_latch {
  std::size_t remaining = 0;  // children still running, plus one held by the starter
  std::coroutine_handle<> waiter;
  std::exception_ptr first_error;
};

struct when_all_child_promise;

// A child wrapper: runs one task and counts down the latch; owned (and destroyed) by when_all's frame.
class when_all_child {
 public:
  using promise_type = when_all_child_promise;
  explicit when_all_child(std::coroutine_handle<when_all_child_promise> frame) noexcept : frame_(frame) {}
  when_all_child(when_all_child&& other) noexcept : frame_(std::exchange(other.frame_, {})) {}
  when_all_child(const when_all_child&) = delete;
  when_all_child& operator=(const when_all_child&) = delete;
  when_all_child& operator=(when_all_child&&) = delete;
  ~when_all_child();
  void start(when_all_latch& latch) noexcept;

 private:
  std::coroutine_handle<when_all_child_promise> frame_;
};

struct when_all_child_promise {
  when_all_latch* latch = nullptr;

  when_all_child get_return_object() noexcept {
    return when_all_child(std::coroutine_handle<when_all_child_promise>::from_promise(*this));
  }
  std::suspend_always initial_suspend() const noexcept { return {}; }
  struct final_awaiter {
    bool await_ready() const noexcept { return false; }
    transfer_result await_suspend(std::coroutine_handle<when_all_child_promise> self) const noexcept {
      when_all_latch* latch = self.promise().latch;
      if (--latch->remaining == 0) return transfer_to(latch->waiter);
      return transfer_nowhere();
    }
    void await_resume() const noexcept {}
  };
  final_awaiter final_suspend() const noexcept { return {}; }
  void return_void() const noexcept {}
  void unhandled_exception() noexcept {
    if (!latch->first_error) latch->first_error = std::current_exception();
  }
};

inline when_all_child::~when_all_child() {
  if (frame_) frame_.destroy();
}
inline void when_all_child::start(when_all_latch& latch) noexcept {
  frame_.promise().latch = &latch;
  frame_.resume();
}

template <typename T>
using result_slot = std::optional<std::conditional_t<std::is_void_v<T>, std::monostate, T>>;

template <typename T>
when_all_child run_child(task<T> work, result_slot<T>& slot) {
  if constexpr (std::is_void_v<T>) {
    co_await work;
    slot.emplace();
  } else {
    slot.emplace(co_await work);
  }
}

// Starts every child, then suspends until the last one ends (or continues at once if all ended).
template <typename Children>
struct when_all_awaiter {
  Children& children;
  when_all_latch& latch;

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> waiter) noexcept {
    latch.waiter = waiter;
    latch.remaining = std::size(children) + 1;
    for (when_all_child& child : children) child.start(latch);
    return --latch.remaining != 0;
  }
  void await_resume() const noexcept {}
};

template <typename... Ts, std::size_t... I>
task<std::tuple<std::conditional_t<std::is_void_v<Ts>, std::monostate, Ts>...>> when_all_tuple(
    std::index_sequence<I...>, task<Ts>... tasks) {
  std::tuple<result_slot<Ts>...> slots;
  std::array<when_all_child, sizeof...(Ts)> children{run_child(std::move(tasks), std::get<I>(slots))...};
  when_all_latch latch;
  co_await when_all_awaiter<decltype(children)>{children, latch};
  if (latch.first_error) std::rethrow_exception(latch.first_error);
  co_return std::tuple<std::conditional_t<std::is_void_v<Ts>, std::monostate, Ts>...>(
      std::move(*std::get<I>(slots))...);
}

}  // namespace detail

template <typename... Ts>
task<std::tuple<std::conditional_t<std::is_void_v<Ts>, std::monostate, Ts>...>> when_all(task<Ts>... tasks) {
  return detail::when_all_tuple(std::index_sequence_for<Ts...>{}, std::move(tasks)...);
}

// Vector form: results in input order. when_all(std::vector<task<void>>) yields task<void>.
template <typename T>
auto when_all(std::vector<task<T>> tasks) -> task<std::conditional_t<std::is_void_v<T>, void, std::vector<T>>> {
  std::vector<detail::result_slot<T>> slots(tasks.size());
  std::vector<detail::when_all_child> children;
  children.reserve(tasks.size());
  for (std::size_t i = 0; i < tasks.size(); ++i) children.push_back(detail::run_child(std::move(tasks[i]), slots[i]));
  detail::when_all_latch latch;
  co_await detail::when_all_awaiter<decltype(children)>{children, latch};
  if (latch.first_error) std::rethrow_exception(latch.first_error);
  if constexpr (!std::is_void_v<T>) {
    std::vector<T> results;
    results.reserve(slots.size());
    for (auto& slot : slots) results.push_back(std::move(*slot));
    co_return results;
  }
}

class task_group {
 public:
  task_group() = default;
  task_group(const task_group&) = delete;
  task_group& operator=(const task_group&) = delete;
  ~task_group();  // asserts nothing is still running (unless the runtime is tearing down)

  // Starts `work` on this shard (at the next ready-queue turn) as a member of the group.
  void spawn(task<void> work);
  // Resumes once every spawned task has finished; rethrows the first exception one of them threw.
  task<void> wait();
  std::size_t running() const noexcept { return running_; }

 private:
  static detail::detached_task run_member(task_group* group, task<void> work);
  void member_done(std::exception_ptr error) noexcept;

  struct wait_awaiter {
    task_group& group;
    bool await_ready() const noexcept { return group.running_ == 0; }
    void await_suspend(std::coroutine_handle<> waiter) noexcept { group.waiter_ = waiter; }
    void await_resume() const noexcept {}
  };

  std::size_t running_ = 0;
  std::coroutine_handle<> waiter_;
  std::exception_ptr first_error_;
};

}  // namespace ringkv::runtime
