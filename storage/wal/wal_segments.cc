// write_ahead_log segment files: preallocating the next segment ahead of need (next.wal.tmp), renaming
// it into place when the log rolls over, and releasing segments a snapshot covers.
#include <fcntl.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cstring>
#include <optional>

#include "runtime/io.h"
#include "runtime/log.h"
#include "runtime/timer.h"
#include "runtime/spawn.h"
#include "storage/wal/dirs.h"
#include "storage/wal/errors.h"
#include "storage/wal/wal.h"

namespace ringkv::storage::wal {
namespace {
constexpr uint64_t zero_fill_chunk_bytes = 1u << 20;             // with the disk to itself (64 MiB: ~40 ms)
constexpr uint64_t zero_fill_turn_chunk_bytes = 4u << 20;        // beside appends: one write + fdatasync per turn
}

write_ahead_log::disk_turn write_ahead_log::take_disk_turn(disk_user who) { return disk_turn{this, who}; }

void write_ahead_log::give_back_disk_turn(disk_user who) {
  assert(disk_user_ == who);
  disk_user_ = disk_user::none;
  if (disk_waiter_) {
    disk_user_ = disk_waiter_side_;
    std::exchange(disk_waiter_, {}).resume();
  }
}

void write_ahead_log::start_preallocation() {
  assert(prealloc_ == prealloc_state::idle && prealloc_fd_ < 0);
  prealloc_ = prealloc_state::running;
  runtime::spawn(preallocate(preparation::beside_appends));
}

runtime::task<void> write_ahead_log::preallocate(preparation mode) {
  const std::string what = join_path(config_.dir, std::string(preallocated_segment_name));
  const auto start = std::chrono::steady_clock::now();
  int fd = -1;
  try {
    fd = co_await runtime::io::openat(dir_fd_, preallocated_segment_name.data(),
                                      O_CREAT | O_TRUNC | O_WRONLY | O_DIRECT | O_CLOEXEC, 0600);
    check_io(fd, "create " + what);
    check_io(co_await runtime::io::fallocate(fd, 0, 0, config_.segment_bytes), "fallocate " + what);
    if (config_.prealloc == preallocation::zero_filled) co_await zero_fill(fd, 0, config_.segment_bytes, mode);
    {
      std::optional<disk_turn_guard> turn;
      if (mode == preparation::beside_appends) {
        co_await take_disk_turn(disk_user::preparer);
        turn.emplace(*this, disk_user::preparer);
      }
      check_io(co_await runtime::io::fdatasync(fd), "fdatasync " + what);
      co_await fsync_dir(dir_fd_, config_.dir);
    }
    prealloc_fd_ = std::exchange(fd, -1);
    prealloc_ = prealloc_state::ready;
    const auto took_us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
    stats_.segment_prepare_us_max = std::max(stats_.segment_prepare_us_max, static_cast<uint64_t>(took_us.count()));
  } catch (const io_error& e) {
    prealloc_error_ = e.what();
    prealloc_shortage_ = e.shortage();
    prealloc_ = prealloc_state::failed;
  } catch (const std::exception& e) {
    prealloc_error_ = e.what();
    prealloc_shortage_ = false;
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

// Zeros [from, to) with large O_DIRECT writes. Beside appends, each chunk is written and fdatasynced
// on its own disk turn, so the device cache never holds zero-fill data when the log's fdatasync runs
// (a flusher batch waits at most one chunk's write + fdatasync). Once someone waits for the preparation
// (the flusher at rollover, or close) nothing else is writing: the rest goes at full speed.
runtime::task<void> write_ahead_log::zero_fill(int fd, uint64_t from, uint64_t to, preparation mode) {
  runtime::aligned_buffer zeros(std::max(zero_fill_chunk_bytes, zero_fill_turn_chunk_bytes));
  const std::string what = "zero-fill " + config_.dir;  // named: no temporaries inside co_await (GCC 12)
  uint64_t at = from;
  while (at < to) {
    const bool disk_to_itself = mode == preparation::before_open_returns || prealloc_waiter_;
    const uint64_t len = std::min(disk_to_itself ? zero_fill_chunk_bytes : zero_fill_turn_chunk_bytes, to - at);
    if (disk_to_itself) {
      co_await write_fully(fd, zeros.data(), len, at, what);
    } else {
      co_await take_disk_turn(disk_user::preparer);
      disk_turn_guard turn(*this, disk_user::preparer);
      co_await write_fully(fd, zeros.data(), len, at, what);
      check_io(co_await runtime::io::fdatasync(fd), "fdatasync " + what);
    }
    at += len;
  }
}

// Called by the flusher before the first write of segment `id`: everything before it is durable.
// A preallocation that failed for a shortage (descriptors, memory, space) is retried with backoff while
// the appends wait (the bounded queue then slows writers): a healthy member never stops for one. Any
// other failure (EIO, ...) stops the log.
runtime::task<void> write_ahead_log::switch_segment(segment_id id) {
  auto backoff = prealloc_retry_first;
  while (true) {
    if (prealloc_ == prealloc_state::idle) start_preallocation();
    co_await wait_preallocation();
    if (prealloc_ == prealloc_state::ready) break;
    if (!prealloc_shortage_ || closing_) throw wal_error("preallocating the next segment failed: " + prealloc_error_);
    ++stats_.prealloc_retries;
    log::warn("preallocating the next WAL segment failed; appends wait and it is retried",
              {{"dir", config_.dir}, {"error", prealloc_error_}, {"retry-in-ms", backoff.count()}});
    prealloc_ = prealloc_state::idle;
    if (co_await runtime::sleep_for(backoff) != 0) throw wal_error("stopped while retrying: " + prealloc_error_);
    backoff = std::min(backoff * 2, prealloc_retry_max);
  }
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

// The next segment is prepared once the current one is half full: once per segment, early enough to be
// ready at rollover even though each zero-fill chunk waits for the flusher's write in progress.
bool write_ahead_log::preallocation_due() const {
  return prealloc_ == prealloc_state::idle && !closing_ && !stopped_ &&
         (!has_segment_ || write_offset_ >= segment_bytes_ / 2);
}

void write_ahead_log::maybe_start_preallocation() {
  if (preallocation_due()) start_preallocation();
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
