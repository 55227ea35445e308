// runtime/io_faults.h - fault injection for tests: make the next matching operation fail.
//
// fail_next(op, errno_value, fd) arms one fault; the next operation of that kind (on that fd, or on any
// fd with any_fd) started on any shard completes with -errno_value. Write-type operations (write, writev)
// still reach the kernel and the fault replaces their result, the way a failed device write leaves the
// page cache in an unknown state; every other operation fails without reaching the kernel (an injected
// fdatasync error means nothing was made durable). Costs one relaxed atomic load per operation when
// nothing is armed.
#pragma once

#include <cstddef>

#include "runtime/io_op.h"

namespace ringkv::runtime::io_faults {

inline constexpr int any_fd = -1;

void fail_next(io_op op, int errno_value, int fd = any_fd);  // thread-safe
void clear() noexcept;                                         // disarms every pending fault
std::size_t pending() noexcept;                                // faults armed and not yet consumed

}  // namespace ringkv::runtime::io_faults

namespace ringkv::runtime::detail {
// Consumes a matching fault: returns its errno value, or 0 when none matches.
int take_injected_fault(io_op op, int fd) noexcept;
}  // namespace ringkv::runtime::detail
