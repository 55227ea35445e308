// runtime/backend.h - the kernel seam: the interface every I/O backend implements, and how one is chosen.
//
// One backend per shard, created and used on that shard's thread only. The reactor hands it op_requests
// (queue), internal reads and multishot accepts; at the end of each loop turn it calls
// submit_and_dispatch once, which starts what was queued, optionally sleeps, and calls each finished
// operation's completion::on_complete. The contract every backend keeps (the reactor relies on it):
//   - every queued operation completes exactly once, from submit_and_dispatch, never from queue/cancel;
//   - a cancelled operation completes with -ECANCELED, or with its real result when it had already
//     finished or can no longer be stopped (a disk write in progress): still exactly once;
//   - a multishot accept delivers completions with `completion_more` set while it stays armed, and one
//     last completion without it (after an error or a cancel);
//   - a write or fdatasync is reported done only after the kernel call returned (durability).
// Backends: uring_backend (io_uring: the fast path) and epoll_backend (non-blocking sockets on epoll,
// disk operations on a small thread pool; for systems whose seccomp profile refuses io_uring).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string_view>

#include "runtime/io.h"

namespace ringkv::runtime {

// An I/O backend could not be set up (io_uring refused or too old, epoll or eventfd failing). The
// message says why and what to do.
class setup_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Which backend run() uses. `automatic`: io_uring, or epoll when io_uring cannot be set up.
enum class io_backend : std::uint8_t { automatic, uring, epoll };

const char* to_string(io_backend backend) noexcept;                    // "auto", "uring", "epoll"
std::optional<io_backend> parse_io_backend(std::string_view text) noexcept;  // the inverse

// The environment variable run() reads when reactor_config::backend is `automatic`.
inline constexpr const char* io_backend_env = "RINGKV_IO_BACKEND";

namespace detail {

// Set in a completion's flags while a multishot request stays armed (equal to IORING_CQE_F_MORE).
inline constexpr std::uint32_t completion_more = 1u << 1;

class backend {
 public:
  virtual ~backend() = default;

  virtual io_backend kind() const noexcept = 0;
  // Queues `request` (its args are valid: the reactor checked lengths); it completes through
  // request.on_complete. Returns < 0 (nothing queued) only for arguments the backend cannot carry.
  virtual int queue(op_request& request) = 0;
  // Queues a read into an internal completion (wakeup eventfd, signalfd).
  virtual void queue_read(int fd, void* buf, unsigned len, completion* done) = 0;
  // Queues a multishot accept (SOCK_CLOEXEC) whose completions all go to `done`.
  virtual void queue_multishot_accept(int listen_fd, completion* done) = 0;
  // Asks an in-flight operation to end early (see the contract above).
  virtual void cancel(op_request& request) = 0;
  virtual void cancel_multishot(const completion& done) = 0;
  // Cancels every operation in flight (shutdown).
  virtual void cancel_all() = 0;
  // The one submit of a loop turn. With wait_for_completion it sleeps until a completion arrives or
  // `timeout` passes (negative timeout: no limit). Returns the number of completions dispatched.
  virtual unsigned submit_and_dispatch(bool wait_for_completion, std::chrono::nanoseconds timeout) = 0;
};

// The backend `kind` (uring or epoll) for one shard; throws setup_error when it cannot be set up.
std::unique_ptr<backend> make_backend(io_backend kind, unsigned ring_entries);

// What run() uses when the config says `automatic`: RINGKV_IO_BACKEND if set, else `automatic`.
// Throws std::invalid_argument for a value that is not auto, uring or epoll.
io_backend backend_from_environment();

}  // namespace detail
}  // namespace ringkv::runtime
