// runtime/io.cc - the io:: constructors: each fills the argument block its io_op needs.
#include "runtime/io.h"

#include <fcntl.h>
#include <sys/uio.h>

namespace ringkv::runtime {

const char* io_op_name(io_op op) noexcept {
  switch (op) {
    case io_op::nop: return "nop";
    case io_op::read: return "read";
    case io_op::write: return "write";
    case io_op::writev: return "writev";
    case io_op::fsync: return "fsync";
    case io_op::fdatasync: return "fdatasync";
    case io_op::fallocate: return "fallocate";
    case io_op::openat: return "openat";
    case io_op::close: return "close";
    case io_op::rename: return "rename";
    case io_op::unlink: return "unlink";
    case io_op::mkdir: return "mkdir";
    case io_op::accept: return "accept";
    case io_op::connect: return "connect";
    case io_op::recv: return "recv";
    case io_op::send: return "send";
    case io_op::sendmsg: return "sendmsg";
  }
  return "unknown";
}

namespace io {

using detail::op_args;

io_awaitable nop(cancel_token* token) noexcept { return {op_args{.op = io_op::nop}, token}; }

io_awaitable openat(int dir_fd, const char* path, int flags, mode_t mode, cancel_token* token) noexcept {
  return {op_args{.op = io_op::openat, .fd = dir_fd, .flags = flags, .mode = mode, .addr = path}, token};
}

io_awaitable close(int fd, cancel_token* token) noexcept { return {op_args{.op = io_op::close, .fd = fd}, token}; }

io_awaitable read_at(int fd, void* buf, std::size_t len, std::uint64_t offset, cancel_token* token) noexcept {
  return {op_args{.op = io_op::read, .fd = fd, .addr = buf, .len = len, .offset = offset}, token};
}

io_awaitable write_at(int fd, const void* buf, std::size_t len, std::uint64_t offset, cancel_token* token) noexcept {
  return {op_args{.op = io_op::write, .fd = fd, .addr = buf, .len = len, .offset = offset}, token};
}

io_awaitable write_at_dsync(int fd, const void* buf, std::size_t len, std::uint64_t offset, cancel_token* token) noexcept {
  return {op_args{.op = io_op::write, .fd = fd, .flags = RWF_DSYNC, .addr = buf, .len = len, .offset = offset}, token};
}

io_awaitable writev_at(int fd, const iovec* iov, int iovcnt, std::uint64_t offset, cancel_token* token) noexcept {
  return {op_args{.op = io_op::writev, .fd = fd, .addr = iov, .len = static_cast<std::uint64_t>(iovcnt),
                  .offset = offset},
          token};
}

io_awaitable fsync(int fd, cancel_token* token) noexcept { return {op_args{.op = io_op::fsync, .fd = fd}, token}; }

io_awaitable fdatasync(int fd, cancel_token* token) noexcept {
  return {op_args{.op = io_op::fdatasync, .fd = fd}, token};
}

io_awaitable fallocate(int fd, int mode, std::uint64_t offset, std::uint64_t len, cancel_token* token) noexcept {
  return {op_args{.op = io_op::fallocate, .fd = fd, .flags = mode, .len = len, .offset = offset}, token};
}

io_awaitable rename(const char* from, const char* to, cancel_token* token) noexcept {
  return {op_args{.op = io_op::rename, .addr = from, .addr2 = to}, token};
}

io_awaitable unlink(const char* path, cancel_token* token) noexcept {
  return {op_args{.op = io_op::unlink, .flags = 0, .addr = path}, token};
}

io_awaitable rmdir(const char* path, cancel_token* token) noexcept {
  return {op_args{.op = io_op::unlink, .flags = AT_REMOVEDIR, .addr = path}, token};
}

io_awaitable mkdir(const char* path, mode_t mode, cancel_token* token) noexcept {
  return {op_args{.op = io_op::mkdir, .mode = mode, .addr = path}, token};
}

io_awaitable accept(int listen_fd, cancel_token* token) noexcept {
  return {op_args{.op = io_op::accept, .fd = listen_fd, .flags = SOCK_CLOEXEC}, token};
}

io_awaitable connect(int fd, const sockaddr* addr, socklen_t addr_len, cancel_token* token) noexcept {
  return {op_args{.op = io_op::connect, .fd = fd, .addr = addr, .len = addr_len}, token};
}

io_awaitable recv(int fd, void* buf, std::size_t len, cancel_token* token) noexcept {
  return {op_args{.op = io_op::recv, .fd = fd, .addr = buf, .len = len}, token};
}

io_awaitable send(int fd, const void* buf, std::size_t len, cancel_token* token) noexcept {
  return {op_args{.op = io_op::send, .fd = fd, .flags = MSG_NOSIGNAL, .addr = buf, .len = len}, token};
}

io_awaitable sendmsg(int fd, const msghdr* message, cancel_token* token) noexcept {
  return {op_args{.op = io_op::sendmsg, .fd = fd, .flags = MSG_NOSIGNAL, .addr = message}, token};
}

io_awaitable writev(int fd, const iovec* iov, int iovcnt, cancel_token* token) noexcept {
  return {op_args{.op = io_op::writev, .fd = fd, .addr = iov, .len = static_cast<std::uint64_t>(iovcnt),
                  .offset = detail::current_position},
          token};
}

}  // namespace io
}  // namespace ringkv::runtime
