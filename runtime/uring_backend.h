// runtime/uring_backend.h - the io_uring backend: the only code that knows io_uring.
//
// Turns op_requests into SQEs, submits once per loop turn, and dispatches CQEs in batches to their
// detail::completion. No liburing type appears here (the ring hides behind a pointer). The contract it
// keeps is runtime/backend.h's.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "runtime/backend.h"

namespace ringkv::runtime::detail {

class uring_backend final : public backend {
 public:
  // Probes the kernel (features and opcodes) and sets up the ring; throws setup_error with a clear
  // message when io_uring is unavailable (e.g. seccomp ENOSYS/EPERM in containers) or too old.
  explicit uring_backend(unsigned ring_entries);
  ~uring_backend() override;
  uring_backend(const uring_backend&) = delete;
  uring_backend& operator=(const uring_backend&) = delete;

  io_backend kind() const noexcept override { return io_backend::uring; }
  // Queues one SQE for `request` (user_data = the request).
  int queue(op_request& request) override;
  void queue_read(int fd, void* buf, unsigned len, completion* done) override;
  void queue_multishot_accept(int listen_fd, completion* done) override;
  // IORING_OP_ASYNC_CANCEL for one request; its own CQE is ignored.
  void cancel(op_request& request) override { queue_cancel(&request); }
  void cancel_multishot(const completion& done) override { queue_cancel(&done); }
  void cancel_all() override;
  unsigned submit_and_dispatch(bool wait_for_completion, std::chrono::nanoseconds timeout) override;

 private:
  struct ring;
  void* next_sqe();
  void queue_cancel(const completion* target);
  std::unique_ptr<ring> ring_;
};

}  // namespace ringkv::runtime::detail
