// runtime/io_faults.cc - the armed-fault list (tests only; guarded by a mutex, skipped when empty).
#include "runtime/io_faults.h"

#include <atomic>
#include <cassert>
#include <mutex>
#include <vector>

namespace ringkv::runtime {
namespace {

struct armed_fault {
  io_op op;
  int errno_value;
  int fd;
};

std::mutex faults_mutex;
std::vector<armed_fault> faults;  // guarded by faults_mutex; oldest first
std::atomic<std::size_t> faults_armed{0};

}  // namespace

namespace io_faults {

void fail_next(io_op op, int errno_value, int fd) {
  assert(errno_value > 0);
  std::lock_guard lock(faults_mutex);
  faults.push_back({op, errno_value, fd});
  faults_armed.store(faults.size(), std::memory_order_release);
}

void clear() noexcept {
  std::lock_guard lock(faults_mutex);
  faults.clear();
  faults_armed.store(0, std::memory_order_release);
}

std::size_t pending() noexcept { return faults_armed.load(std::memory_order_acquire); }

}  // namespace io_faults

namespace detail {

int take_injected_fault(io_op op, int fd) noexcept {
  if (faults_armed.load(std::memory_order_relaxed) == 0) return 0;
  std::lock_guard lock(faults_mutex);
  for (auto it = faults.begin(); it != faults.end(); ++it) {
    if (it->op == op && (it->fd == io_faults::any_fd || it->fd == fd)) {
      const int errno_value = it->errno_value;
      faults.erase(it);
      faults_armed.store(faults.size(), std::memory_order_release);
      return errno_value;
    }
  }
  return 0;
}

}  // namespace detail
}  // namespace ringkv::runtime
