// runtime/gate.h - gate: wait until a group of tasks (or scopes) on this shard has ended, then refuse more.
//
//   gate pumps;
//   pumps.spawn(reader());                  // counted from now, started at the next ready-queue turn
//   if (auto inside = pumps.enter()) {...}  // RAII: counted until `inside` is destroyed
//   co_await pumps.close();                 // refuses new entries at once, resumes when the count is 0
//
// This replaces hand-set "task running" flags polled at shutdown. Rules:
// - Entering a closed gate is refused, not an error: enter() returns an empty holder (false) and spawn()
//   returns false without starting the work (its frame is destroyed).
// - close() is called once (asserted); it closes the gate when called, not when awaited. Its task
//   completes at once when nothing is inside, otherwise the closer is resumed through the ready queue
//   after the last one leaves. It rethrows the first exception a spawned task ended with; every other
//   spawned task still ran to its end (and counted) first. Entered scopes carry no exceptions.
// - The gate must outlive every holder and spawned task: destroying it with anyone inside asserts
//   (unless the runtime is tearing down, when frames are destroyed in no particular order).
// runtime/when_all.h's task_group is the same counting without refusal or RAII entry.
#pragma once

#include <cassert>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <utility>

#include "runtime/spawn.h"
#include "runtime/task.h"

namespace ringkv::runtime {

class gate {
 public:
  gate() = default;
  gate(const gate&) = delete;
  gate& operator=(const gate&) = delete;
  ~gate();

  // One entry into the gate; leaves it when destroyed. Empty (false) when the gate refused entry.
  class [[nodiscard]] holder {
   public:
    holder() noexcept = default;
    holder(holder&& other) noexcept : gate_(std::exchange(other.gate_, nullptr)) {}
    holder& operator=(holder&& other) noexcept {
      if (this != &other) {
        release();
        gate_ = std::exchange(other.gate_, nullptr);
      }
      return *this;
    }
    holder(const holder&) = delete;
    holder& operator=(const holder&) = delete;
    ~holder() { release(); }

    explicit operator bool() const noexcept { return gate_ != nullptr; }
    void release() noexcept;  // leaves now (no-op when empty)

   private:
    friend class gate;
    explicit holder(gate* entered) noexcept : gate_(entered) {}
    gate* gate_ = nullptr;
  };

  // Counts the caller in until the holder goes; an empty holder once the gate is closed.
  holder enter() noexcept;
  // Starts `work` on this shard (next ready-queue turn) counted in the gate; false (work dropped) once
  // the gate is closed.
  [[nodiscard]] bool spawn(task<void> work);
  // Closes the gate; the task completes when nothing is inside (see the rules above).
  task<void> close();

  bool closed() const noexcept { return closed_; }
  std::size_t inside() const noexcept { return inside_; }

 private:
  static detail::detached_task run_member(gate* owner, task<void> work);
  void leave() noexcept;
  task<void> wait_empty();

  struct empty_awaiter {
    gate& self;
    bool await_ready() const noexcept { return self.inside_ == 0; }
    void await_suspend(std::coroutine_handle<> waiter) noexcept { self.closer_ = waiter; }
    void await_resume() const noexcept {}
  };

  std::size_t inside_ = 0;          // holders alive + spawned tasks not yet ended
  bool closed_ = false;             // set by close(); never cleared
  std::coroutine_handle<> closer_;  // parked in close() while inside_ > 0
  std::exception_ptr first_error_;  // from a spawned task; rethrown by close()
};

}  // namespace ringkv::runtime
