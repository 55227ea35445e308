// write_ahead_log: the append path (encoding into batches) and the flusher (one write + one fdatasync
// per batch, waking every append the batch completes). Opening/recovery: wal_open.cc; segment files:
// wal_segments.cc.
#include "storage/wal/wal.h"

#include <cassert>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <unistd.h>

#include "runtime/io.h"
#include "runtime/log.h"
#include "runtime/reactor.h"
#include "runtime/spawn.h"
#include "runtime/timer.h"

namespace ringkv::storage::wal {

// One write: buffer[0] lands at file_offset (block aligned); buffer[0, prefix) repeats the partial
// block already on disk, so the rewrite in place keeps it.
struct write_ahead_log::batch {
  runtime::aligned_buffer buffer;  // write_bytes_limit bytes
  uint64_t segment_seq = 0;
  uint64_t file_offset = 0;
  uint64_t used = 0;               // invariant: file_offset + used == end of this batch's data
  uint64_t prefix = 0;             // bytes copied from the partial block already on disk
  uint64_t last_ticket = 0;        // highest append completed by this batch
  bool sealed = false;
  std::optional<segment_id> opens;  // the first batch of a new segment
};

struct write_ahead_log::durable_awaiter {
  write_ahead_log* log;
  uint64_t ticket;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) { log->waiters_.push_back({ticket, h}); }
  void await_resume() const noexcept {}
};

void wal_config::validate() const {
  if (dir.empty()) throw wal_error("wal_config: dir is empty");
  if (segment_bytes % block_bytes != 0 || segment_bytes < 4 * block_bytes) {
    throw wal_error("wal_config: segment_bytes must be a multiple of 4096 and at least 16384");
  }
  if (write_bytes_limit % block_bytes != 0 || write_bytes_limit < 2 * block_bytes ||
      write_bytes_limit > segment_bytes || write_bytes_limit > (1u << 30)) {
    throw wal_error("wal_config: write_bytes_limit must be a multiple of 4096, >= 8192, <= segment_bytes, <= 1 GiB");
  }
  if (queued_bytes_limit < write_bytes_limit) throw wal_error("wal_config: queued_bytes_limit < write_bytes_limit");
}

std::vector<entry> entries_after(std::vector<entry> entries, uint64_t snapshot_index) {
  if (!entries.empty() && entries.front().index > snapshot_index + 1) {
    throw wal_error("WAL starts at index " + std::to_string(entries.front().index) +
                    " and does not reach back to snapshot index " + std::to_string(snapshot_index));
  }
  std::erase_if(entries, [&](const entry& e) { return e.index <= snapshot_index; });
  return entries;
}

write_ahead_log::write_ahead_log(wal_config config)
    : config_(std::move(config)), owner_shard_(runtime::this_shard()), tail_(block_bytes) {}

write_ahead_log::~write_ahead_log() {
  assert(!flushing_ && waiters_.empty() && "write_ahead_log destroyed while writing");
  for (int fd : {fd_, prealloc_fd_, dir_fd_}) {
    if (fd >= 0) ::close(fd);  // only when open() failed half way; close() closes through the runtime
  }
}

void write_ahead_log::check_appendable(std::span<const entry_view> entries, uint64_t extra_bytes) const {
  if (stopped_) throw wal_error("WAL stopped: " + stop_reason_);
  if (closing_) throw wal_error("WAL is closed");
  assert(runtime::this_shard() == owner_shard_);
  uint64_t bytes = extra_bytes;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].payload.size() > config_.entry_payload_bytes_max()) {
      throw wal_error("entry payload of " + std::to_string(entries[i].payload.size()) + " bytes exceeds " +
                      std::to_string(config_.entry_payload_bytes_max()));
    }
    if (i > 0 && entries[i].index != entries[i - 1].index + 1) throw wal_error("entries are not contiguous");
    bytes += entry_record_bytes(entries[i].payload.size());
  }
  if (!entries.empty()) {
    const uint64_t first = entries.front().index;
    const bool fresh = last_index_ == 0;
    if (first == 0 || (!fresh && first > last_index_ + 1)) {
      throw wal_error("entry index " + std::to_string(first) + " leaves a gap after " + std::to_string(last_index_));
    }
    if (!fresh && first <= snapshot_.index) {
      throw wal_error("entry index " + std::to_string(first) + " is covered by snapshot " +
                      std::to_string(snapshot_.index));
    }
  }
  if (queued_bytes_ + bytes > config_.queued_bytes_limit) {
    throw wal_error("WAL queue full: " + std::to_string(queued_bytes_) + " bytes waiting");
  }
}

runtime::task<void> write_ahead_log::append(std::span<const entry_view> entries, std::optional<hard_state> hs) {
  check_appendable(entries, hs ? record_bytes(hard_state_body_bytes) : 0);
  for (const entry_view& e : entries) {
    put_record(entry_record_bytes(e.payload.size()), e.index,
               [&](std::byte* out, uint64_t seed) { return encode_entry(out, e, seed); });
    last_index_ = e.index;
  }
  if (hs) {
    hard_state_ = *hs;
    put_record(record_bytes(hard_state_body_bytes), last_index_ + 1,
               [&](std::byte* out, uint64_t seed) { return encode_hard_state(out, *hs, seed); });
  }
  stats_.records += entries.size() + (hs ? 1 : 0);
  return wait_durable(finish_append());
}

runtime::task<void> write_ahead_log::append_snapshot_marker(snapshot_marker marker) {
  check_appendable({}, record_bytes(snapshot_marker_body_bytes));
  if (marker.index < snapshot_.index) throw wal_error("snapshot marker moves backwards");
  snapshot_ = marker;
  last_index_ = std::max(last_index_, marker.index);
  put_record(record_bytes(snapshot_marker_body_bytes), last_index_ + 1,
             [&](std::byte* out, uint64_t seed) { return encode_snapshot_marker(out, marker, seed); });
  stats_.records += 1;
  return wait_durable(finish_append());
}

uint64_t write_ahead_log::finish_append() {
  const uint64_t ticket = ++appended_ticket_;
  ++stats_.appends;
  if (queue_.empty()) {
    durable_ticket_ = ticket;  // nothing was queued: already durable
  } else {
    queue_.back()->last_ticket = ticket;
    kick();
  }
  return ticket;
}

template <typename Encode>
void write_ahead_log::put_record(uint64_t bytes, uint64_t first_index_if_rolled, Encode encode) {
  assert(bytes <= config_.write_bytes_limit - block_bytes);
  if (!has_segment_ || write_offset_ + bytes > segment_bytes_) roll_over(first_index_if_rolled);
  batch& b = open_batch_with_room(bytes);
  chain_ = encode(b.buffer.data() + b.used, chain_);
  b.used += bytes;
  write_offset_ += bytes;
  queued_bytes_ += bytes;
  assert(b.file_offset + b.used == write_offset_ && write_offset_ <= segment_bytes_);
}

// Starts segment next_seq_: its first batch opens with the header, the hard state and the snapshot
// marker, so every segment is readable without the ones before it.
void write_ahead_log::roll_over(uint64_t first_index) {
  if (!queue_.empty() && !queue_.back()->sealed) seal(*queue_.back());
  segment_header_body h;
  h.segment_seq = next_seq_;
  h.first_index = first_index;
  h.segment_bytes = config_.segment_bytes;
  h.write_bytes_limit = config_.write_bytes_limit;
  h.prev_segment_chain = has_segment_ ? chain_ : 0;

  has_segment_ = true;
  seq_ = next_seq_++;
  segment_bytes_ = config_.segment_bytes;
  write_offset_ = 0;
  batch& b = open_batch_with_room(block_bytes);
  b.opens = segment_id{seq_, first_index};

  std::byte* out = b.buffer.data();
  chain_ = encode_segment_header(out, h);
  uint64_t used = record_bytes(segment_header_body_bytes);
  chain_ = encode_hard_state(out + used, hard_state_, chain_);
  used += record_bytes(hard_state_body_bytes);
  chain_ = encode_snapshot_marker(out + used, snapshot_, chain_);
  used += record_bytes(snapshot_marker_body_bytes);
  b.used = used;
  write_offset_ = used;
  queued_bytes_ += used;
}

write_ahead_log::batch& write_ahead_log::open_batch_with_room(uint64_t bytes) {
  if (!queue_.empty()) {
    batch& last = *queue_.back();
    if (!last.sealed && last.segment_seq == seq_ && last.used + bytes <= config_.write_bytes_limit) return last;
    if (!last.sealed) seal(last);
  }
  auto b = std::make_unique<batch>();
  if (spare_buffers_.empty()) {
    b->buffer = runtime::aligned_buffer(config_.write_bytes_limit);
  } else {
    b->buffer = std::move(spare_buffers_.back());
    spare_buffers_.pop_back();
  }
  b->segment_seq = seq_;
  b->file_offset = align_down(write_offset_, block_bytes);
  b->used = write_offset_ - b->file_offset;
  b->prefix = b->used;
  std::memcpy(b->buffer.data(), tail_.data(), b->used);  // the partial block, rewritten in place
  b->last_ticket = queue_.empty() ? appended_ticket_ : queue_.back()->last_ticket;
  queue_.push_back(std::move(b));
  return *queue_.back();
}

// No more records join `b`: remember its partial last block for the batch after it.
void write_ahead_log::seal(batch& b) {
  assert(!b.sealed);
  b.sealed = true;
  if (b.segment_seq != seq_) return;  // a rollover already reset the tail
  const uint64_t tail_start = align_down(b.used, block_bytes);
  std::memcpy(tail_.data(), b.buffer.data() + tail_start, b.used - tail_start);
}

runtime::task<void> write_ahead_log::wait_durable(uint64_t ticket) {
  if (durable_ticket_ < ticket && !stopped_) co_await durable_awaiter{this, ticket};
  if (durable_ticket_ < ticket) throw wal_error("WAL stopped: " + stop_reason_);
}

void write_ahead_log::kick() {
  if (flushing_ || stopped_) return;
  flushing_ = true;
  runtime::spawn(flush_loop());
}

runtime::task<void> write_ahead_log::flush_loop() {
  try {
    while (!queue_.empty() && !stopped_) {
      batch& b = *queue_.front();
      if (!b.sealed) seal(b);
      if (b.opens) co_await switch_segment(*b.opens);
      co_await write_batch(b);
      durable_ticket_ = b.last_ticket;
      queued_bytes_ -= b.used - b.prefix;
      spare_buffers_.push_back(std::move(b.buffer));
      queue_.pop_front();
      maybe_start_preallocation();
      wake_waiters();
    }
  } catch (const std::exception& e) {
    stop(e.what());
  }
  flushing_ = false;
  if (drained_waiter_) std::exchange(drained_waiter_, {}).resume();
}

runtime::task<void> write_ahead_log::write_batch(batch& b) {
  const uint64_t len = align_up(b.used, block_bytes);
  std::memset(b.buffer.data() + b.used, 0, len - b.used);
  const segment_id batch_segment{b.segment_seq, segments_.back().first_index};  // named only when reporting
  if (disk_user_ != disk_user::none) ++stats_.flusher_disk_waits;
  co_await take_disk_turn(disk_user::flusher);
  disk_turn_guard turn(*this, disk_user::flusher);  // a zero-fill chunk never shares this fdatasync
  // Timed from the write on: with RWF_DSYNC the write and its sync are one request.
  const auto sync_start = std::chrono::steady_clock::now();
  int written = 0;
  if (config_.sync == wal_sync::dsync_write) {
    written = co_await runtime::io::write_at_dsync(fd_, b.buffer.data(), len, b.file_offset);
    if (written == -EOPNOTSUPP) {  // nothing was written: from now on, a write then an fdatasync
      log::warn("RWF_DSYNC writes refused; using write + fdatasync",
                {{"dir", config_.dir}, {"error", std::strerror(-written)}});
      config_.sync = wal_sync::write_then_fdatasync;
    }
  }
  if (config_.sync == wal_sync::write_then_fdatasync)
    written = co_await runtime::io::write_at(fd_, b.buffer.data(), len, b.file_offset);
  if (written < 0 || static_cast<uint64_t>(written) != len) {
    throw wal_error("write " + segment_file_name(batch_segment) + " at " + std::to_string(b.file_offset) + ": " +
                    (written < 0 ? std::strerror(-written) : "short write"));
  }
  if (config_.sync == wal_sync::write_then_fdatasync) {
    const int synced = co_await runtime::io::fdatasync(fd_);
    if (synced < 0) throw wal_error("fdatasync " + segment_file_name(batch_segment) + ": " + std::strerror(-synced));
  }
  if (config_.sync_delay_for_tests.count() > 0) co_await runtime::sleep_for(config_.sync_delay_for_tests);
  const auto sync_duration =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - sync_start);
  const auto sync_us = static_cast<uint64_t>(sync_duration.count());
  if (config_.on_fdatasync) config_.on_fdatasync(fdatasync_observation{sync_duration, len});
  stats_.fdatasync_us_max = std::max(stats_.fdatasync_us_max, sync_us);
  if (sync_us > config_.slow_fdatasync_warn_ms * 1000) {
    ++stats_.slow_fdatasyncs;
    log::warn("slow fdatasync", {{"segment", segment_file_name(batch_segment)}, {"took-ms", sync_us / 1000},
                                 {"expected-duration-ms", config_.slow_fdatasync_warn_ms}, {"bytes", len}});
  }
  ++stats_.writes;
  stats_.bytes_written += len;
}

void write_ahead_log::stop(const std::string& reason) {
  if (!stopped_) {
    stopped_ = true;
    stop_reason_ = reason;
    log::error("WAL stopped; no further writes will be acknowledged", {{"dir", config_.dir}, {"reason", reason}});
  }
  wake_waiters();
}

void write_ahead_log::wake_waiters() {
  std::vector<waiter> ready;
  std::vector<waiter> waiting;
  for (const waiter& w : waiters_) (stopped_ || w.ticket <= durable_ticket_ ? ready : waiting).push_back(w);
  waiters_ = std::move(waiting);
  for (const waiter& w : ready) w.handle.resume();  // each re-checks durable_ticket_ / stopped_
}

runtime::task<void> write_ahead_log::close() {
  closing_ = true;
  if (flushing_) {
    struct drained {
      write_ahead_log* log;
      bool await_ready() const noexcept { return !log->flushing_; }
      void await_suspend(std::coroutine_handle<> h) { log->drained_waiter_ = h; }
      void await_resume() const noexcept {}
    };
    co_await drained{this};
  }
  co_await wait_preallocation();
  for (int* fd : {&fd_, &prealloc_fd_, &dir_fd_}) {
    if (*fd >= 0) co_await runtime::io::close(std::exchange(*fd, -1));
  }
  closed_ = true;
  if (!stopped_ && durable_ticket_ < appended_ticket_) stop("closed with unwritten appends");
  wake_waiters();
}

}  // namespace ringkv::storage::wal
