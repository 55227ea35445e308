// runtime/reactor.h - starting the shards, the shard identity, and stopping.
//
// run() starts `shards` threads (shard 0 is the calling thread), each with its own reactor: one I/O
// backend (io_uring, or epoll + a disk thread pool: runtime/backend.h), a ready queue, a timer heap, and
// inbound message queues from every other shard. `main` runs on shard 0; when it finishes, the runtime
// shuts down: stop is requested, every in-flight operation is cancelled, operations started after that
// complete at once with -ECANCELED, timers fire with -ECANCELED, and the shards keep turning until all
// detached tasks have finished (or shutdown_drain_timeout passes: the rest are destroyed - never while
// the kernel still holds one of their operations). Then threads are joined and run() returns main's
// result (or rethrows its exception). So: finish durable work (e.g. the WAL's last fdatasync) before
// main returns.
#pragma once

#include <chrono>
#include <coroutine>
#include <functional>

#include "runtime/task.h"
#include "runtime/backend.h"  // setup_error, io_backend (no io_uring types)

namespace ringkv::runtime {

struct reactor_config {
  unsigned shards = 1;                       // 1..shards_max; shard i is thread i (0 = caller)
  unsigned ring_entries = 4096;              // SQ entries per shard (CQ gets twice as many); power of 2
  unsigned smp_queue_capacity = 1024;        // messages per (from, to) shard pair; power of 2
  std::chrono::milliseconds shutdown_drain_timeout{2000};  // time for cancelled work to wind down
  bool handle_signals = true;                // SIGINT/SIGTERM request stop (signalfd on shard 0's ring)
  bool pin_threads = false;                  // pin shard i to CPU i (mod cores)
  // automatic: RINGKV_IO_BACKEND (uring|epoll|auto) if set, else io_uring with a fallback to epoll when
  // io_uring cannot be set up (seccomp, old kernel). uring/epoll: that one, no fallback.
  io_backend backend = io_backend::automatic;

  static constexpr unsigned shards_max = 256;
};

// Runs the runtime until `main` finishes; returns its result. Throws std::invalid_argument for a bad
// config (or RINGKV_IO_BACKEND value) and setup_error when the chosen backend is unavailable (io_uring
// forced but refused). Logs the backend at start (debug; a fallback to epoll as a warning). One run at
// a time per process.
int run(const reactor_config& config, std::function<task<int>()> main);

unsigned this_shard();   // on a shard thread
io_backend active_io_backend();  // on a shard thread: uring or epoll
unsigned shard_count();  // on a shard thread
bool on_shard_thread() noexcept;

// True while this shard destroys the frames still suspended at the end of shutdown: destructors that
// assert "nobody waits on me" should allow it then.
bool tearing_down() noexcept;

// Stop: set by SIGINT/SIGTERM (when handle_signals), request_stop() from any thread, or main's end.
bool stop_requested() noexcept;
void request_stop() noexcept;

// co_await wait_for_stop() resumes (on this shard) once stop was requested.
class [[nodiscard]] stop_awaitable {
 public:
  stop_awaitable() = default;
  stop_awaitable(const stop_awaitable&) = delete;
  stop_awaitable& operator=(const stop_awaitable&) = delete;
  ~stop_awaitable();

  bool await_ready() const noexcept { return stop_requested(); }
  void await_suspend(std::coroutine_handle<> waiter);
  void await_resume() const noexcept {}

  // Runtime internals: intrusive list of this shard's stop waiters.
  stop_awaitable* prev = nullptr;
  stop_awaitable* next = nullptr;
  std::coroutine_handle<> waiter;
  bool linked = false;
};
inline stop_awaitable wait_for_stop() noexcept { return {}; }

}  // namespace ringkv::runtime
