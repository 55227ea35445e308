// runtime/io.h - awaitable kernel operations (files and sockets).
//
// Each function returns an awaitable; `co_await` yields the kernel's result as int: >= 0 on success
// (bytes, fd, 0), -errno on failure, -ECANCELED when cancelled through the optional token. The awaitable
// lives in the awaiting coroutine's frame (no allocation per operation); it is queued on this shard's ring
// and submitted with everything else at the end of the loop turn. Pointers passed in (buffers, paths,
// iovecs, msghdr, sockaddr) must stay valid until the co_await returns. Lengths above 4 GiB - 1 give
// -EINVAL. Must be awaited on a shard thread (inside runtime::run).
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cassert>
#include <cerrno>
#include <coroutine>
#include <cstddef>
#include <cstdint>

#include "runtime/cancel.h"
#include "runtime/io_op.h"

namespace ringkv::runtime {

namespace detail {

// Everything the kernel reports back lands through one of these (the CQE's user_data points at it).
struct completion {
  void (*on_complete)(completion* self, int result, std::uint32_t cqe_flags) = nullptr;
};

inline constexpr std::uint64_t current_position = ~std::uint64_t{0};  // offset meaning "no offset"

struct op_args {
  io_op op = io_op::nop;
  int fd = -1;
  int flags = 0;                   // open/recv/send/accept flags, fallocate mode, fsync flags
  std::uint32_t mode = 0;          // file mode for openat/mkdir
  const void* addr = nullptr;      // buffer, path, iovec array, msghdr or sockaddr
  const void* addr2 = nullptr;     // rename target path
  std::uint64_t len = 0;           // bytes, iovec count or socklen
  std::uint64_t offset = 0;        // file offset (or current_position)
};

struct op_request : completion, cancellable {
  op_args args;
  int result = 0;
  int injected_error = 0;  // io_faults: replaces the kernel's result (write-type ops)
  bool in_flight = false;  // an SQE/CQE pair is outstanding; the frame must stay alive
  std::coroutine_handle<> waiter;
  void* backend_state = nullptr;  // the backend's own record while in flight (epoll: its wait node)
};

enum class op_start {
  finished,   // result is set (injected fault, bad length): continue without suspending
  in_flight,  // queued on the ring: the completion resumes the waiter
  deferred,   // shutdown: result is -ECANCELED and the waiter is on the ready queue (so that a loop that
              // ignores errors still yields to the reactor)
};
op_start start_op(op_request& request, std::coroutine_handle<> waiter);

}  // namespace detail

class [[nodiscard]] io_awaitable {
 public:
  io_awaitable(const detail::op_args& args, cancel_token* token) noexcept : token_(token) {
    request_.args = args;
  }
  io_awaitable(const io_awaitable&) = delete;
  io_awaitable& operator=(const io_awaitable&) = delete;
  ~io_awaitable() { assert(!request_.in_flight && "frame destroyed while its I/O was in flight"); }

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> waiter) {
    if (token_ != nullptr && token_->cancelled()) {
      request_.result = -ECANCELED;
      return false;
    }
    switch (detail::start_op(request_, waiter)) {
      case detail::op_start::finished: return false;
      case detail::op_start::deferred: return true;
      case detail::op_start::in_flight: break;
    }
    if (token_ != nullptr) token_->attach(&request_);
    return true;
  }
  int await_resume() const noexcept { return request_.result; }

 private:
  detail::op_request request_;
  cancel_token* token_;
};

namespace io {

io_awaitable nop(cancel_token* token = nullptr) noexcept;

// Files.
io_awaitable openat(int dir_fd, const char* path, int flags, mode_t mode, cancel_token* token = nullptr) noexcept;
io_awaitable close(int fd, cancel_token* token = nullptr) noexcept;
io_awaitable read_at(int fd, void* buf, std::size_t len, std::uint64_t offset, cancel_token* token = nullptr) noexcept;
io_awaitable write_at(int fd, const void* buf, std::size_t len, std::uint64_t offset,
                      cancel_token* token = nullptr) noexcept;
// A write that completes only once its data is durable (RWF_DSYNC: as write_at then fdatasync of
// that range, in one request).
io_awaitable write_at_dsync(int fd, const void* buf, std::size_t len, std::uint64_t offset,
                            cancel_token* token = nullptr) noexcept;
io_awaitable writev_at(int fd, const iovec* iov, int iovcnt, std::uint64_t offset,
                       cancel_token* token = nullptr) noexcept;
io_awaitable fsync(int fd, cancel_token* token = nullptr) noexcept;
io_awaitable fdatasync(int fd, cancel_token* token = nullptr) noexcept;
io_awaitable fallocate(int fd, int mode, std::uint64_t offset, std::uint64_t len, cancel_token* token = nullptr) noexcept;
io_awaitable rename(const char* from, const char* to, cancel_token* token = nullptr) noexcept;
io_awaitable unlink(const char* path, cancel_token* token = nullptr) noexcept;
io_awaitable rmdir(const char* path, cancel_token* token = nullptr) noexcept;
io_awaitable mkdir(const char* path, mode_t mode, cancel_token* token = nullptr) noexcept;

// Sockets. Sends use MSG_NOSIGNAL (a closed peer gives -EPIPE, never SIGPIPE). accept returns a
// SOCK_CLOEXEC descriptor.
io_awaitable accept(int listen_fd, cancel_token* token = nullptr) noexcept;
io_awaitable connect(int fd, const sockaddr* addr, socklen_t addr_len, cancel_token* token = nullptr) noexcept;
io_awaitable recv(int fd, void* buf, std::size_t len, cancel_token* token = nullptr) noexcept;
io_awaitable send(int fd, const void* buf, std::size_t len, cancel_token* token = nullptr) noexcept;
io_awaitable sendmsg(int fd, const msghdr* message, cancel_token* token = nullptr) noexcept;
io_awaitable writev(int fd, const iovec* iov, int iovcnt, cancel_token* token = nullptr) noexcept;

}  // namespace io
}  // namespace ringkv::runtime
