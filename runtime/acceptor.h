// runtime/acceptor.h - multishot accept: one kernel request keeps producing connections.
//
// The acceptor arms IORING_OP_ACCEPT with the multishot flag on its listening socket the first time
// accept() is awaited, and keeps it armed: each new connection posts a completion without a new SQE.
// Connections nobody is waiting for yet wait in a ready list; when it holds ready_limit of them the
// acceptor stops the kernel request (backpressure: the backlog stays in the kernel) and re-arms when a
// connection is taken. Waiters are served in arrival order. One shard: create, use and close the acceptor
// on the same shard. Before destroying it, co_await close(): the kernel holds a pointer to it while armed.
#pragma once

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <deque>

#include "runtime/cancel.h"
#include "runtime/io.h"
#include "runtime/task.h"

namespace ringkv::runtime {

class acceptor {
 public:
  static constexpr std::size_t ready_limit_default = 64;  // accepted connections held before pausing

  explicit acceptor(int listen_fd, std::size_t ready_limit = ready_limit_default);
  acceptor(const acceptor&) = delete;
  acceptor& operator=(const acceptor&) = delete;
  ~acceptor();  // closes connections accepted but never taken; asserts close() was awaited

  class [[nodiscard]] accept_awaitable : detail::cancellable {
   public:
    accept_awaitable(acceptor& owner, cancel_token* token) noexcept;
    accept_awaitable(const accept_awaitable&) = delete;
    accept_awaitable& operator=(const accept_awaitable&) = delete;
    ~accept_awaitable();

    bool await_ready() noexcept;
    bool await_suspend(std::coroutine_handle<> waiter);
    int await_resume() const noexcept { return result_; }

   private:
    friend class acceptor;
    static void cancel(detail::cancellable* self);

    acceptor& owner_;
    cancel_token* token_;
    std::coroutine_handle<> waiter_;
    accept_awaitable* next_ = nullptr;
    bool queued_ = false;
    int result_ = 0;
  };

  // Yields a connected socket (SOCK_CLOEXEC) or -errno; -ECANCELED when cancelled, closed or shutting down.
  accept_awaitable accept(cancel_token* token = nullptr) noexcept { return accept_awaitable(*this, token); }

  // Stops the kernel request, waits for its last completion, fails pending accepts with -ECANCELED and
  // closes connections nobody took. The listening socket itself stays open (the caller owns it).
  task<void> close();

  bool armed() const noexcept { return armed_; }
  std::size_t ready() const noexcept { return ready_fds_.size(); }

 private:
  struct multishot_completion : detail::completion {
    acceptor* owner = nullptr;
  };
  static void on_accepted(detail::completion* done, int result, std::uint32_t flags);

  void arm();
  void deliver(int result);
  void enqueue(accept_awaitable& waiter) noexcept;
  void remove(accept_awaitable& waiter) noexcept;
  accept_awaitable* pop_waiter() noexcept;

  int listen_fd_;
  std::size_t ready_limit_;
  multishot_completion completion_;
  bool armed_ = false;       // the kernel holds our multishot request
  bool stopping_ = false;    // a cancel for the request is on its way
  bool closed_ = false;
  std::deque<int> ready_fds_;
  accept_awaitable* waiters_head_ = nullptr;
  accept_awaitable* waiters_tail_ = nullptr;
  std::coroutine_handle<> close_waiter_;
};

}  // namespace ringkv::runtime
