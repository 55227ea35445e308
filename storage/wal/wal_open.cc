// write_ahead_log::open: replays the segments in order (through the runtime, O_DIRECT), hands the bytes
// to log_rebuilder, removes files that never got data, and truncates a torn tail by rewriting the last
// block and zeroing everything after it before any new write.
#include <fcntl.h>
#include <linux/falloc.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <map>

#include "runtime/io.h"
#include "storage/wal/dirs.h"
#include "storage/wal/recovery.h"
#include "storage/wal/wal.h"

namespace ringkv::storage::wal {
namespace {

struct segment_file {
  segment_id id;
  std::string name;
  int fd = -1;
  uint64_t size = 0;
};

bool first_record_present(std::span<const std::byte> first_bytes) {
  return std::any_of(first_bytes.begin(), first_bytes.end(), [](std::byte b) { return b != std::byte{0}; });
}

}  // namespace

runtime::task<write_ahead_log::opened> write_ahead_log::open(wal_config config) {
  config.validate();
  co_await make_dirs(config.dir);
  std::unique_ptr<write_ahead_log> log(new write_ahead_log(std::move(config)));
  log->dir_fd_ = co_await open_dir(log->config_.dir);
  recovered_state recovered = co_await log->recover();
  if (log->preallocation_due()) {
    // One-time cost (a fresh node, or a restart past half a segment), durable before anything is
    // acknowledged: the first appends then run at full speed with no zero-fill beside them.
    log->prealloc_ = prealloc_state::running;
    co_await log->preallocate(preparation::before_open_returns);
    if (log->prealloc_ == prealloc_state::failed) {
      throw wal_error("preparing the next WAL segment failed: " + log->prealloc_error_);
    }
  }
  co_return opened{std::move(log), std::move(recovered)};
}

runtime::task<recovered_state> write_ahead_log::recover() {
  // Which files are segments, in seq order; a leftover next.wal.tmp was never part of the log.
  std::map<uint64_t, segment_file> files;
  bool remove_tmp = false;
  for (const std::string& name : list_dir(config_.dir)) {
    if (name == preallocated_segment_name) remove_tmp = true;
    auto id = parse_segment_file_name(name);
    if (!id) continue;
    if (files.contains(id->seq)) throw corruption_error(name, 0, "two segment files with the same sequence number");
    files[id->seq] = segment_file{*id, name};
  }
  if (remove_tmp) {
    const std::string tmp = join_path(config_.dir, std::string(preallocated_segment_name));
    check_io(co_await runtime::io::unlink(tmp.c_str()), "remove " + tmp);
  }

  uint64_t largest = block_bytes;
  std::optional<uint64_t> last_with_data;
  runtime::aligned_buffer first_block(block_bytes);
  try {
    for (auto& [seq, f] : files) {
      const std::string path = join_path(config_.dir, f.name);
      f.fd = co_await runtime::io::openat(dir_fd_, f.name.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC, 0);
      check_io(f.fd, "open " + path);
      f.size = file_size(f.fd, path);
      largest = std::max(largest, align_up(f.size, block_bytes));
      std::memset(first_block.data(), 0, block_bytes);
      const uint64_t got = co_await read_fully(f.fd, first_block.data(), block_bytes, 0, path);
      if (first_record_present(std::span(first_block.data(), std::min<uint64_t>(got, record_header_bytes)))) {
        last_with_data = seq;
      }
    }

    log_rebuilder rebuilder(config_.write_bytes_limit);
    runtime::aligned_buffer data(largest);
    std::span<const std::byte> last_data;
    for (auto& [seq, f] : files) {
      const std::string path = join_path(config_.dir, f.name);
      const uint64_t got = co_await read_fully(f.fd, data.data(), align_up(f.size, block_bytes), 0, path);
      std::span<const std::byte> bytes(data.data(), got);
      if (last_with_data && seq <= *last_with_data) {
        rebuilder.add_segment(f.id, f.name, bytes, seq == *last_with_data);
        if (seq == *last_with_data) last_data = bytes;
      } else {
        rebuilder.add_empty_segment(f.name, bytes, seq == files.rbegin()->first);
      }
    }
    recovered_log log = std::move(rebuilder).finish();
    for (auto& [seq, f] : files) co_await runtime::io::close(std::exchange(f.fd, -1));

    for (const std::string& name : log.empty_files) {
      const std::string path = join_path(config_.dir, name);
      check_io(co_await runtime::io::unlink(path.c_str()), "remove " + path);
    }
    if (remove_tmp || !log.empty_files.empty()) co_await fsync_dir(dir_fd_, config_.dir);

    next_seq_ = files.empty() ? 0 : files.begin()->first;
    for (const retained_segment& s : log.segments) segments_.push_back(s.id);
    if (!log.segments.empty()) {
      const retained_segment& last = log.segments.back();
      has_segment_ = true;
      seq_ = last.id.seq;
      next_seq_ = seq_ + 1;
      segment_bytes_ = log.last_segment_bytes;
      write_offset_ = log.end_offset;
      chain_ = log.chain;
      const uint64_t tail_start = align_down(write_offset_, block_bytes);
      std::memset(tail_.data(), 0, block_bytes);
      if (write_offset_ > tail_start) {
        std::memcpy(tail_.data(), last_data.data() + tail_start, write_offset_ - tail_start);
      }
      const std::string path = join_path(config_.dir, last.file_name);
      fd_ = co_await runtime::io::openat(dir_fd_, last.file_name.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC, 0);
      check_io(fd_, "open " + path);
      if (log.tail_torn) co_await repair_tail(std::span(tail_.data(), block_bytes));
    }
    last_index_ = log.last_index();
    hard_state_ = log.state;
    snapshot_ = log.snapshot;
    co_return recovered_state{log.state, log.snapshot, std::move(log.entries)};
  } catch (...) {
    for (auto& [seq, f] : files) {
      if (f.fd >= 0) ::close(f.fd);
    }
    throw;
  }
}

// The last segment ends in a torn write (or was cut short): rewrite its last block with only the valid
// bytes, zero everything after it (re-extending a truncated file), and make that durable.
runtime::task<void> write_ahead_log::repair_tail(std::span<const std::byte> tail_block) {
  const uint64_t block_start = align_down(write_offset_, block_bytes);
  const std::string what = "repair torn tail of " + segment_file_name(segments_.back());
  co_await write_fully(fd_, tail_block.data(), block_bytes, block_start, what);
  const uint64_t zero_from = block_start + block_bytes;
  if (zero_from < segment_bytes_) {
    const int r = co_await runtime::io::fallocate(fd_, FALLOC_FL_ZERO_RANGE, zero_from, segment_bytes_ - zero_from);
    if (r == -EOPNOTSUPP) {
      check_io(co_await runtime::io::fallocate(fd_, 0, 0, segment_bytes_), what);
      co_await zero_fill(fd_, zero_from, segment_bytes_, preparation::before_open_returns);
    } else {
      check_io(r, what);
    }
  }
  check_io(co_await runtime::io::fdatasync(fd_), what);
}

}  // namespace ringkv::storage::wal
