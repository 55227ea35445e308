// runtime/task.h - task<T>: the lazy, move-only coroutine type every layer awaits.
//
// A task does nothing until it is awaited. `co_await t` starts it by symmetric transfer (no stack growth,
// so chains of any depth are fine) and the awaiter is resumed, again by symmetric transfer, when it ends.
// Symmetric transfer relies on the compiler turning the handoff into a tail call, which GCC does only when
// optimizing and not under AddressSanitizer; in those builds (debug, ASan) the handoff goes through a
// per-thread trampoline instead, which gives the same flat stack at the cost of a queue push.
// Frames are allocated from a bounded per-thread cache of freed frames (runtime/frame_pool.h).
// A value or an exception travels back to the awaiter. Destroying a task destroys its frame (and so every
// task its frame owns); a frame is never destroyed while it is suspended inside the kernel, see reactor.h.
#pragma once

#include <cassert>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "runtime/frame_pool.h"

#if defined(__OPTIMIZE__) && !defined(__SANITIZE_ADDRESS__)
#define RINGKV_RUNTIME_SYMMETRIC_TRANSFER 1
#else
#define RINGKV_RUNTIME_SYMMETRIC_TRANSFER 0
#endif

namespace ringkv::runtime {

template <typename T = void>
class task;

namespace detail {

#if RINGKV_RUNTIME_SYMMETRIC_TRANSFER
// Hands control from a suspending coroutine to `next` as a tail call (await_suspend returns it).
using transfer_result = std::coroutine_handle<>;
inline transfer_result transfer_to(std::coroutine_handle<> next) noexcept { return next; }
inline transfer_result transfer_nowhere() noexcept { return std::noop_coroutine(); }
#else
// The trampoline: the outermost handoff on a thread runs a loop; nested handoffs queue their target and
// return, so every resume starts from the loop and the stack stays flat.
struct trampoline_state {
  bool active = false;
  std::vector<std::coroutine_handle<>> deferred;
  std::size_t next = 0;
};
inline thread_local trampoline_state trampoline;

using transfer_result = void;
inline void transfer_to(std::coroutine_handle<> next) noexcept {
  trampoline_state& state = trampoline;
  if (state.active) {
    state.deferred.push_back(next);
    return;
  }
  state.active = true;
  next.resume();
  while (state.next < state.deferred.size()) state.deferred[state.next++].resume();
  state.deferred.clear();
  state.next = 0;
  state.active = false;
}
inline void transfer_nowhere() noexcept {}
#endif

// Ends a task's body: hands control straight to whoever awaited it (or back to the scheduler).
struct task_final_awaiter {
  bool await_ready() const noexcept { return false; }
  template <typename Promise>
  transfer_result await_suspend(std::coroutine_handle<Promise> self) const noexcept {
    std::coroutine_handle<> continuation = self.promise().continuation;
    if (continuation) return transfer_to(continuation);
    return transfer_nowhere();
  }
  void await_resume() const noexcept {}
};

struct task_promise_base {
  std::coroutine_handle<> continuation;  // the awaiter; set when the task is started

#if RINGKV_RUNTIME_FRAME_POOL
  // Task frames come from the per-thread frame cache (runtime/frame_pool.h).
  static void* operator new(std::size_t bytes) { return allocate_frame(bytes); }
  static void operator delete(void* frame, std::size_t bytes) noexcept { free_frame(frame, bytes); }
#endif

  std::suspend_always initial_suspend() const noexcept { return {}; }
  task_final_awaiter final_suspend() const noexcept { return {}; }
};

template <typename T>
struct task_promise : task_promise_base {
  static_assert(!std::is_reference_v<T>, "task<T&> is not supported: return a pointer");
  std::variant<std::monostate, T, std::exception_ptr> outcome;

  task<T> get_return_object() noexcept;
  template <typename U>
  void return_value(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    outcome.template emplace<1>(std::forward<U>(value));
  }
  void unhandled_exception() noexcept { outcome.template emplace<2>(std::current_exception()); }
  T take() {
    if (outcome.index() == 2) std::rethrow_exception(std::get<2>(outcome));
    assert(outcome.index() == 1 && "task finished without a value");
    return std::move(std::get<1>(outcome));
  }
};

template <>
struct task_promise<void> : task_promise_base {
  std::exception_ptr error;

  task<void> get_return_object() noexcept;
  void return_void() const noexcept {}
  void unhandled_exception() noexcept { error = std::current_exception(); }
  void take() const {
    if (error) std::rethrow_exception(error);
  }
};

}  // namespace detail

template <typename T>
class [[nodiscard]] task {
 public:
  using promise_type = detail::task_promise<T>;
  using handle_type = std::coroutine_handle<promise_type>;
  using value_type = T;

  task() noexcept = default;
  explicit task(handle_type frame) noexcept : frame_(frame) {}
  task(task&& other) noexcept : frame_(std::exchange(other.frame_, {})) {}
  task& operator=(task&& other) noexcept {
    if (this != &other) {
      reset();
      frame_ = std::exchange(other.frame_, {});
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  ~task() { reset(); }

  // True while the task owns a frame (not default-constructed, not moved from).
  bool valid() const noexcept { return static_cast<bool>(frame_); }

  struct awaiter {
    handle_type frame;
    bool await_ready() const noexcept { return false; }
    detail::transfer_result await_suspend(std::coroutine_handle<> awaiting) const noexcept {
      frame.promise().continuation = awaiting;
      return detail::transfer_to(frame);
    }
    T await_resume() const { return frame.promise().take(); }
  };

  // Starts the task; a task can be awaited once.
  awaiter operator co_await() const& noexcept {
    assert(frame_ && !frame_.done() && !frame_.promise().continuation && "task awaited twice or empty");
    return awaiter{frame_};
  }
  awaiter operator co_await() const&& noexcept {
    assert(frame_ && !frame_.done() && !frame_.promise().continuation && "task awaited twice or empty");
    return awaiter{frame_};
  }

  // Gives up ownership of the frame (used by spawn/when_all, which take over its lifetime).
  handle_type release() noexcept { return std::exchange(frame_, {}); }

 private:
  void reset() noexcept {
    if (frame_) std::exchange(frame_, {}).destroy();
  }

  handle_type frame_;
};

namespace detail {
template <typename T>
task<T> task_promise<T>::get_return_object() noexcept {
  return task<T>(std::coroutine_handle<task_promise<T>>::from_promise(*this));
}
inline task<void> task_promise<void>::get_return_object() noexcept {
  return task<void>(std::coroutine_handle<task_promise<void>>::from_promise(*this));
}
}  // namespace detail

}  // namespace ringkv::runtime
