// write_ahead_log segment files: preallocating the next segment ahead of need (next.wal.tmp), renaming
// it into place when the log rolls over, and releasing segments a snapshot covers.
#include <fcntl.h>

#include <cassert>
#include <cstring>

#include "runtime/io.h"
#include "runtime/spawn.h"
#include "storage/wal/dirs.h"
#include "storage/wal/wal.h"

namespace ringkv::storage::wal {
namespace {
constexpr uint64_t zero_fill_chunk_bytes = 1u << 20;
}

void write_ahead_log::start_preallocation() {
  assert(prealloc_ == prealloc_state::idle && prealloc_fd_ < 0);
  prealloc_ = prealloc_state::running;
  runtime::spawn(preallocate());
}

runtime::task<void> write_ahead_log::preallocate() {
  const std::string what = join_path(config_.dir, std::string(preallocated_segment_name));
  int fd = -1;
  try {
    fd = co_await runtime::io::openat(dir_fd_, preallocated_segment_name.data(),
                                      O_CREAT | O_TRUNC | O_WRONLY | O_DIRECT | O_CLOEXEC, 0600);
    check_io(fd, "create " + what);
    check_io(co_await runtime::io::fallocate(fd, 0, 0, config_.segment_bytes), "fallocate " + what);
    if (config_.prealloc == preallocation::zero_filled) co_await zero_fill(fd, 0, config_.segment_bytes);
    check_io(co_await runtime::io::fdatasync(fd), "fdatasync " + what);
    co_await fsync_dir(dir_fd_, config_.dir);
    prealloc_fd_ = std::exchange(fd, -1);
    prealloc_ = prealloc_state::ready;
  } catch (const std::exception& e) {
    prealloc_error_ = e.what();
    prealloc_ = prealloc_state::failed;
  }
  if (fd >= 0) co_await runtime::io::close(fd);
  if (prealloc_waiter_) std::exchange(prealloc_waiter_, {}).resume();
}

runtime::task<void> write_ahead_log::wait_preallocation() {
  struct done {
    write_ahead_log* log;
    bool await_ready() const noexcept { return log->prealloc_ != prealloc_state::running; }
    void await_suspend(std::coroutine_handle<> h) {
      assert(!log->prealloc_waiter_);
      log->prealloc_waiter_ = h;
    }
    void await_resume() const noexcept {}
  };
  co_await done{this};
}

runtime::task<void> write_ahead_log::zero_fill(int fd, uint64_t from, uint64_t to) {
  runtime::aligned_buffer zeros(zero_fill_chunk_bytes);
  const std::string what = "zero-fill " + config_.dir;  // named: no temporaries inside co_await (GCC 12)
  for (uint64_t at = from; at < to; at += zero_fill_chunk_bytes) {
    const uint64_t len = std::min(zero_fill_chunk_bytes, to - at);
    co_await write_fully(fd, zeros.data(), len, at, what);
  }
}

// Called by the flusher before the first write of segment `id`: everything before it is durable.
runtime::task<void> write_ahead_log::switch_segment(segment_id id) {
  if (prealloc_ == prealloc_state::idle) start_preallocation();
  co_await wait_preallocation();
  if (prealloc_ == prealloc_state::failed) throw wal_error("preallocating the next segment failed: " + prealloc_error_);
  assert(prealloc_ == prealloc_state::ready);
  const std::string from = join_path(config_.dir, std::string(preallocated_segment_name));
  const std::string to = join_path(config_.dir, segment_file_name(id));
  check_io(co_await runtime::io::rename(from.c_str(), to.c_str()), "rename " + from + " to " + to);
  co_await fsync_dir(dir_fd_, config_.dir);
  if (fd_ >= 0) co_await runtime::io::close(std::exchange(fd_, -1));
  fd_ = std::exchange(prealloc_fd_, -1);
  prealloc_ = prealloc_state::idle;
  segments_.push_back(id);
  ++stats_.segments_created;
}

// Zero-filling competes with the log's own writes for the device (every fdatasync flushes its cache),
// so the next segment is prepared only once the current one is half full: once per segment.
void write_ahead_log::maybe_start_preallocation() {
  if (prealloc_ == prealloc_state::idle && !closing_ && !stopped_ &&
      (!has_segment_ || write_offset_ >= segment_bytes_ / 2)) {
    start_preallocation();
  }
}

runtime::task<void> write_ahead_log::release(uint64_t snapshot_index) {
  if (snapshot_index > snapshot_.index) {
    throw wal_error("release(" + std::to_string(snapshot_index) + ") beyond the latest snapshot marker " +
                    std::to_string(snapshot_.index));
  }
  return release_segments(snapshot_index);
}

runtime::task<void> write_ahead_log::release_segments(uint64_t snapshot_index) {
  if (releasing_) co_return;  // another release is running; the next one catches up
  releasing_ = true;
  try {
    co_await wait_durable(appended_ticket_);  // the snapshot marker is durable before files go
    bool removed = false;
    // Segment k holds only entries below segment k+1's first index (later ones were overwritten).
    while (segments_.size() >= 2 && segments_[1].first_index <= snapshot_index + 1) {
      const std::string path = join_path(config_.dir, segment_file_name(segments_.front()));
      check_io(co_await runtime::io::unlink(path.c_str()), "remove " + path);
      segments_.erase(segments_.begin());
      ++stats_.segments_released;
      removed = true;
    }
    if (removed) co_await fsync_dir(dir_fd_, config_.dir);
  } catch (...) {
    releasing_ = false;
    throw;
  }
  releasing_ = false;
}

}  // namespace ringkv::storage::wal
