// runtime/io_op.h - the kinds of kernel operations the runtime issues (shared by io.h and io_faults.h).
#pragma once

#include <cstdint>

namespace ringkv::runtime {

enum class io_op : std::uint8_t {
  nop,
  read,
  write,
  writev,
  fsync,
  fdatasync,
  fallocate,
  openat,
  close,
  rename,
  unlink,
  mkdir,
  accept,
  connect,
  recv,
  send,
  sendmsg,
};

const char* io_op_name(io_op op) noexcept;

}  // namespace ringkv::runtime
