// runtime/reactor_impl.h - INTERNAL to runtime/: the per-shard reactor and the state the shards share.
// Other layers include reactor.h / smp.h / io.h instead.
#pragma once

#include <atomic>
#include <barrier>
#include <coroutine>
#include <exception>
#include <memory>
#include <mutex>
#include <sys/signalfd.h>
#include <vector>

#include "runtime/io.h"
#include "runtime/reactor.h"
#include "runtime/smp.h"
#include "runtime/spawn.h"
#include "runtime/spsc_queue.h"
#include "runtime/timer_heap.h"
#include "runtime/backend.h"
#include "runtime/uring_backend.h"  // final: the hot calls below are direct

namespace ringkv::runtime::detail {

class reactor;

// Guards starting/ending a run and reactors coming and going against request_stop() from other threads.
std::mutex& lifecycle_mutex() noexcept;
// Stop requested for the current run (SIGINT/SIGTERM, request_stop(), main's end).
std::atomic<bool>& stop_flag() noexcept;

// What the shards of one run() share. Outlives every shard thread.
struct smp_system {
  explicit smp_system(const reactor_config& config);

  spsc_queue& queue(unsigned from, unsigned to) noexcept { return *queues[from * shard_count + to]; }
  void wake(unsigned shard) noexcept;         // wakes the shard if it sleeps in the kernel
  void wake_always(unsigned shard) noexcept;  // writes its eventfd regardless
  void begin_shutdown() noexcept;             // main finished: every shard drains and exits
  bool all_drained() const noexcept;

  const reactor_config config;
  const unsigned shard_count;
  io_backend backend = io_backend::uring;  // every shard's: uring or epoll, decided by run() before shard 0
  std::vector<std::unique_ptr<spsc_queue>> queues;       // [from * shard_count + to]
  std::unique_ptr<std::atomic<reactor*>[]> reactors;     // published once each ring is up
  std::unique_ptr<std::atomic<bool>[]> drained;          // per shard, during shutdown: nothing left
  std::atomic<bool> shutting_down{false};
  std::atomic<bool> startup_failed{false};
  std::barrier<> phase;
  int signal_fd = -1;  // shard 0 reads it (SIGINT/SIGTERM)

  int exit_code = 0;                 // main's result (written on shard 0)
  std::exception_ptr main_error;     // main's exception
};

// FIFO of runnable coroutines; a power-of-two ring that only grows.
class ready_queue {
 public:
  ready_queue() : slots_(initial_capacity) {}
  void push(std::coroutine_handle<> frame) {
    if (count_ == slots_.size()) grow();
    slots_[(head_ + count_) & (slots_.size() - 1)] = frame;
    ++count_;
  }
  std::coroutine_handle<> pop() noexcept {
    std::coroutine_handle<> frame = slots_[head_];
    head_ = (head_ + 1) & (slots_.size() - 1);
    --count_;
    return frame;
  }
  std::size_t size() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }
  void clear() noexcept { head_ = count_ = 0; }

 private:
  static constexpr std::size_t initial_capacity = 1024;
  void grow();
  std::vector<std::coroutine_handle<>> slots_;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
};

class reactor {
 public:
  reactor(smp_system& system, unsigned shard);
  ~reactor();
  reactor(const reactor&) = delete;
  reactor& operator=(const reactor&) = delete;

  static reactor* current_or_null() noexcept;
  static reactor& current() noexcept;

  unsigned shard() const noexcept { return shard_; }
  smp_system& system() noexcept { return system_; }

  void schedule(std::coroutine_handle<> frame) { ready_.push(frame); }
  op_start start_op(op_request& request, std::coroutine_handle<> waiter);
  // Multishot requests (acceptor): counted as in flight until their last completion.
  bool start_multishot_accept(int listen_fd, completion& done);  // false once shutdown began
  void multishot_ended() noexcept { --in_flight_; }
  void cancel_completion(const completion& target) { backend_->cancel_multishot(target); }
  static bool more_completions_follow(std::uint32_t cqe_flags) noexcept { return (cqe_flags & completion_more) != 0; }
  io_backend backend_kind() const noexcept { return backend_->kind(); }
  bool arm(timer_entry& entry);  // false once shutdown began (the entry is not armed)
  bool draining() const noexcept { return draining_; }
  void disarm(timer_entry& entry) noexcept;
  void link(detached_promise& promise) noexcept;
  void unlink(detached_promise& promise) noexcept;
  bool try_send(unsigned to, const smp_message& message) noexcept;
  void wait_to_send(send_waiter& waiter) noexcept;
  void add_stop_waiter(stop_awaitable& waiter) noexcept;
  void remove_stop_waiter(stop_awaitable& waiter) noexcept;
  bool destroying_leftovers() const noexcept { return destroying_; }

  // Called on this shard's thread from another thread's point of view: wake if sleeping.
  void wake_if_sleeping() noexcept;
  void wake_now() noexcept;

  // The shard's whole life: serve until shutdown, drain, destroy leftovers, close internal reads.
  void run();

 private:
  struct internal_read : completion {
    reactor* owner = nullptr;
  };

  void turn(std::chrono::nanoseconds wait_limit);
  void run_ready();
  void drain_inbound();
  void flush_send_waiters();
  void flush_wakeups() noexcept;
  void fire_timers();
  void notice_stop();
  std::chrono::nanoseconds time_to_next_timer() const;
  bool inbound_empty() const noexcept;
  bool quiet() const noexcept;
  void drain();
  void destroy_leftovers();
  void close_internal_reads();
  void arm_wakeup_read();
  void arm_signal_read();
  static void complete_op(completion* done, int result, std::uint32_t flags);
  static void cancel_op(cancellable* op);
  static void wakeup_read_done(completion* done, int result, std::uint32_t flags);
  static void signal_read_done(completion* done, int result, std::uint32_t flags);

  smp_system& system_;
  const unsigned shard_;
  std::unique_ptr<backend> backend_;
  // backend_ when it is io_uring, else null. The per-operation and per-turn calls go through it: a
  // direct call into the final class, as before the seam existed; epoll goes through the interface.
  uring_backend* uring_ = nullptr;
  ready_queue ready_;
  timer_heap timers_;
  std::size_t in_flight_ = 0;         // user operations the kernel holds
  unsigned internal_in_flight_ = 0;   // wakeup/signal reads the kernel holds
  detached_link* detached_head_ = nullptr;
  std::size_t detached_count_ = 0;
  std::vector<send_waiter*> send_head_;   // per destination, FIFO
  std::vector<send_waiter*> send_tail_;
  std::vector<char> wake_pending_;        // per destination: pushed this turn, wake before sleeping
  unsigned send_waiting_ = 0;             // destinations with waiters
  stop_awaitable* stop_waiters_ = nullptr;
  bool stop_seen_ = false;
  bool draining_ = false;     // shutdown: new ops and timers end at once with -ECANCELED
  bool destroying_ = false;
  bool closing_ = false;      // internal reads are not re-armed
  int wakeup_fd_ = -1;
  std::atomic<bool> sleeping_{false};
  internal_read wakeup_read_;
  std::uint64_t wakeup_value_ = 0;
  internal_read signal_read_;
  signalfd_siginfo signal_info_{};
};

}  // namespace ringkv::runtime::detail
