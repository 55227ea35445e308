// runtime/spawn.h - detached tasks: started now, frame freed when they finish.
//
// Every detached frame is registered with its shard, so a runtime that stops while tasks are still
// suspended can destroy them (and every frame they own) instead of leaking them. A detached task must
// catch its own exceptions: one that escapes prints its message and terminates the process.
#pragma once

#include <coroutine>

#include "runtime/task.h"

namespace ringkv::runtime {

namespace detail {

struct detached_promise;

struct detached_link {
  detached_link* prev = nullptr;
  detached_link* next = nullptr;
};

struct detached_task {
  using promise_type = detached_promise;
  std::coroutine_handle<detached_promise> frame;
};

struct detached_promise : detached_link {
  detached_promise();   // registers the frame with this shard
  ~detached_promise();  // unregisters it
  detached_promise(const detached_promise&) = delete;
  detached_promise& operator=(const detached_promise&) = delete;

  detached_task get_return_object() noexcept {
    return {std::coroutine_handle<detached_promise>::from_promise(*this)};
  }
  std::suspend_always initial_suspend() const noexcept { return {}; }
  std::suspend_never final_suspend() const noexcept { return {}; }
  void return_void() const noexcept {}
  [[noreturn]] void unhandled_exception() const noexcept;
};

// Puts a coroutine on this shard's ready queue.
void schedule(std::coroutine_handle<> frame);

detached_task run_detached(task<void> work);

}  // namespace detail

// Starts `work` on this shard (at the next ready-queue turn) and forgets it.
inline void spawn(task<void> work) { detail::schedule(detail::run_detached(std::move(work)).frame); }

}  // namespace ringkv::runtime
