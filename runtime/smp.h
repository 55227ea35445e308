// runtime/smp.h - running work on another shard: submit_to(shard, fn) -> task<R>.
//
//   shard A (caller)                        shard B (target)
//   submit_to(B, fn) --request msg-->  spsc A->B  --> detached task: r = fn() / co_await fn()
//   (suspended, frame holds fn + result)              store r (or exception) in A's frame
//   resumed with r    <--reply msg----  spsc B->A  <-- push reply, task ends
//
// Messages are two words (function, context); the caller's frame holds everything else, so a call costs
// the caller's submit_to frame and, on the target, nothing more for a plain function (one frame when fn
// returns a task, or when the reply must wait for room). Queues are bounded: a sender finding its queue
// full waits (in FIFO order per destination, so per-pair order is kept) and the consumer wakes it after
// making room. A sleeping shard is woken through an eventfd read kept in flight on its ring.
#pragma once

#include <cassert>
#include <coroutine>
#include <exception>
#include <memory>
#include <type_traits>
#include <utility>
#include <variant>

#include "runtime/reactor.h"
#include "runtime/spawn.h"
#include "runtime/spsc_queue.h"
#include "runtime/task.h"

namespace ringkv::runtime {

namespace detail {

struct send_waiter {
  smp_message message;
  unsigned to = 0;
  std::coroutine_handle<> resume_after_push;  // null: the sender waits for a reply instead
  send_waiter* next = nullptr;
};

// False when the queue to `to` is full or earlier messages to `to` are still waiting for room.
bool try_send(unsigned to, const smp_message& message) noexcept;
// Queues the waiter behind earlier ones; the reactor pushes it when there is room.
void wait_to_send(send_waiter& waiter) noexcept;

enum class after_send { continue_now, wait_for_reply };

class [[nodiscard]] send_awaitable {
 public:
  // self_slot (optional) receives the sender's handle before the message leaves (the reply resumes it).
  send_awaitable(unsigned to, smp_message message, after_send then,
                 std::coroutine_handle<>* self_slot = nullptr) noexcept
      : then_(then), self_slot_(self_slot) {
    waiter_.to = to;
    waiter_.message = message;
  }
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> self) noexcept {
    if (self_slot_ != nullptr) *self_slot_ = self;
    if (try_send(waiter_.to, waiter_.message)) return then_ == after_send::wait_for_reply;
    if (then_ == after_send::continue_now) waiter_.resume_after_push = self;
    wait_to_send(waiter_);
    return true;
  }
  void await_resume() const noexcept {}

 private:
  send_waiter waiter_;
  after_send then_;
  std::coroutine_handle<>* self_slot_;
};

template <typename T>
struct is_task : std::false_type {};
template <typename T>
struct is_task<task<T>> : std::true_type {};

template <typename F>
using invoke_result_t = std::invoke_result_t<F&>;

template <typename F>
struct submit_result {
  using type = invoke_result_t<F>;
};
template <typename F>
  requires is_task<invoke_result_t<F>>::value
struct submit_result<F> {
  using type = typename invoke_result_t<F>::value_type;
};

// fn() as a task, whether fn returns a task or a plain value.
template <typename F>
auto invoke_as_task(F& fn) -> task<typename submit_result<F>::type> {
  if constexpr (is_task<invoke_result_t<F>>::value) {
    return fn();
  } else {
    return [](F& f) -> task<typename submit_result<F>::type> { co_return f(); }(fn);
  }
}

template <typename R, typename F>
struct cross_call {
  F fn;
  unsigned origin;
  std::coroutine_handle<> caller;
  std::conditional_t<std::is_void_v<R>, std::monostate, std::variant<std::monostate, R>> value{};
  std::exception_ptr error;

  R take() {
    if (error) std::rethrow_exception(error);
    if constexpr (!std::is_void_v<R>) return std::move(std::get<1>(value));
  }

  static void resume_caller(void* context) { static_cast<cross_call*>(context)->caller.resume(); }

  static detached_task run_remote(cross_call* call) {
    try {
      if constexpr (std::is_void_v<R>) {
        co_await invoke_as_task(call->fn);
      } else {
        call->value.template emplace<1>(co_await invoke_as_task(call->fn));
      }
    } catch (...) {
      call->error = std::current_exception();
    }
    // After this push the caller may resume and free *call: touch nothing of it afterwards.
    co_await send_awaitable(call->origin, smp_message{&cross_call::resume_caller, call}, after_send::continue_now);
  }

  static detached_task reply_when_room(cross_call* call) {
    co_await send_awaitable(call->origin, smp_message{&cross_call::resume_caller, call}, after_send::continue_now);
  }

  // On the target shard. A plain function runs right here and its reply goes straight into the queue
  // (no coroutine frame on this side unless the queue back is full); a task runs in a detached frame.
  static void start_remote(void* context) {
    auto* call = static_cast<cross_call*>(context);
    if constexpr (is_task<invoke_result_t<F>>::value) {
      run_remote(call).frame.resume();
    } else {
      try {
        if constexpr (std::is_void_v<R>) {
          call->fn();
        } else {
          call->value.template emplace<1>(call->fn());
        }
      } catch (...) {
        call->error = std::current_exception();
      }
      if (!try_send(call->origin, smp_message{&cross_call::resume_caller, call})) reply_when_room(call).frame.resume();
    }
  }
};

}  // namespace detail

template <typename F>
using submit_result_t = typename detail::submit_result<F>::type;

// Runs fn on `shard` (fn may return R or task<R>) and yields its result; exceptions travel back.
// fn and what it captures must be safe to use from the target shard's thread.
template <typename F>
task<submit_result_t<F>> submit_to(unsigned shard, F fn) {
  using R = submit_result_t<F>;
  assert(shard < shard_count());
  if (shard == this_shard()) co_return co_await detail::invoke_as_task(fn);
  detail::cross_call<R, F> call{std::move(fn), this_shard(), {}, {}, {}};
  co_await detail::send_awaitable(shard, detail::smp_message{&detail::cross_call<R, F>::start_remote, &call},
                                  detail::after_send::wait_for_reply, &call.caller);
  co_return call.take();
}

namespace detail {

template <typename F>
struct posted_call {
  F fn;
  static void run(void* context) {
    std::unique_ptr<posted_call> self(static_cast<posted_call*>(context));
    self->fn();
  }
};

// The queue to `to` was full: wait for room in a detached frame (per-pair order is kept).
inline detached_task post_when_room(unsigned to, smp_message message) {
  co_await send_awaitable(to, message, after_send::continue_now);
}

}  // namespace detail

// One-way message: runs fn() (a plain function returning void) on `shard`'s message loop and forwards
// nothing back. Cheaper than submit_to (no reply, no frame on either side unless the queue is full).
// Per-pair order with submit_to and other posts is kept. Same shard: fn runs inline.
// fn must not throw (it runs in the target's loop), and it must be safe to run on the target's thread.
// At shutdown a message still queued when the shards stop is never run (its captures are leaked).
template <typename F>
void post_to(unsigned shard, F fn) {
  static_assert(std::is_void_v<std::invoke_result_t<F&>>, "post_to takes a function returning void");
  assert(shard < shard_count());
  if (shard == this_shard()) {
    fn();
    return;
  }
  auto* call = new detail::posted_call<F>{std::move(fn)};
  const detail::smp_message message{&detail::posted_call<F>::run, call};
  if (!detail::try_send(shard, message)) detail::post_when_room(shard, message).frame.resume();  // queues now: order kept
}

}  // namespace ringkv::runtime
