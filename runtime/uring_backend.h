// runtime/uring_backend.h - the kernel seam: the only code that knows io_uring.
//
// One backend per shard, created and used on that shard's thread only. It turns op_requests into SQEs,
// submits once per loop turn, and dispatches CQEs in batches to their detail::completion. No liburing
// type appears here, so a different backend (epoll + thread pool) can replace it behind the same calls.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "runtime/io.h"

namespace ringkv::runtime {

// io_uring could not be set up or lacks a feature we need. The message says why and what to do.
class setup_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {

class uring_backend {
 public:
  // Probes the kernel (features and opcodes) and sets up the ring; throws setup_error with a clear
  // message when io_uring is unavailable (e.g. seccomp ENOSYS/EPERM in containers) or too old.
  explicit uring_backend(unsigned ring_entries);
  ~uring_backend();
  uring_backend(const uring_backend&) = delete;
  uring_backend& operator=(const uring_backend&) = delete;

  // Queues one SQE for `request` (user_data = the request). Returns -EINVAL for arguments the kernel
  // interface cannot carry (then nothing is queued).
  int queue(op_request& request);
  // Queues a read into an internal completion (wakeup eventfd, signalfd).
  void queue_read(int fd, void* buf, unsigned len, completion* done);
  // Queues a multishot accept (SOCK_CLOEXEC) whose completions all go to `done`.
  void queue_multishot_accept(int listen_fd, completion* done);
  // True when a completion's flags say the multishot request stays armed (more completions follow).
  static bool more_follow(std::uint32_t cqe_flags) noexcept;
  // Queues IORING_OP_ASYNC_CANCEL for one request; its own CQE is ignored.
  void queue_cancel(const completion* target);
  // Queues a cancel of every request in the ring (shutdown).
  void queue_cancel_all();

  // The one submit of a loop turn. With wait_for_completion it sleeps until a completion arrives or
  // `timeout` passes (negative timeout: no limit). Returns the number of completions dispatched.
  unsigned submit_and_dispatch(bool wait_for_completion, std::chrono::nanoseconds timeout);

  std::size_t queued() const noexcept;

 private:
  struct ring;
  void* next_sqe();
  std::unique_ptr<ring> ring_;
};

}  // namespace detail
}  // namespace ringkv::runtime
