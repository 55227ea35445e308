// The write-ahead log of one raft group: segment files written with O_DIRECT through the runtime, group
// commit, recovery on open, release of segments a snapshot covers. Lives on one shard; not thread-safe.
//
//   raft loop                      write_ahead_log                       kernel
//   append(entries, hs) --------> encode into the open batch (now)
//     <- task (durable)           flusher: seal batch ----------------> write_at(O_DIRECT, 4 KiB blocks)
//   send AppendEntries ...        (appends meanwhile fill next batch)   fdatasync
//   co_await task <-------------- resume every append in the batch <--  done
//
// Group commit: one batch = one write + one fdatasync; every append that arrives while a batch is in
// flight joins the next batch. Batches start at the 4 KiB block holding the end of the data, so the
// partially filled last block is rewritten in place (with its old bytes as prefix) instead of padded.
// Any write or fdatasync error stops the log for good: pending and later appends fail, nothing is retried.
#pragma once

#include <cassert>
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "runtime/aligned_buffer.h"
#include "runtime/task.h"
#include "storage/wal/errors.h"
#include "storage/wal/format.h"
#include "storage/wal/record.h"
#include "storage/wal/segment_name.h"

namespace ringkv::storage::wal {

enum class preallocation {
  fallocate_only,  // fallocate: cheap, but the first write to each block converts an unwritten extent
  zero_filled,     // fallocate, then write zeros: later appends overwrite written blocks (no metadata)
};

// What the log reports after each batch's fdatasync (see wal_config::on_fdatasync).
struct fdatasync_observation {
  std::chrono::microseconds duration{0};  // the fdatasync alone (not the write before it)
  uint64_t bytes_written = 0;             // bytes of the write it made durable (whole 4 KiB blocks)
};

// How a batch is made durable.
enum class wal_sync : uint8_t {
  dsync_write,           // one RWF_DSYNC write: complete = durable (one request, no separate fdatasync)
  write_then_fdatasync,  // a write, then fdatasync (used when the kernel or filesystem refuses RWF_DSYNC)
};

struct wal_config {
  std::string dir;                                   // the WAL directory: <data-dir>/member/wal
  uint64_t segment_bytes = 64ull << 20;              // file size of each segment (multiple of 4 KiB)
  uint64_t write_bytes_limit = 4ull << 20;           // largest write (one batch); also the torn window
  uint64_t queued_bytes_limit = 256ull << 20;        // encoded bytes waiting to be written
  preallocation prealloc = preallocation::zero_filled;
  wal_sync sync = wal_sync::dsync_write;
  uint64_t slow_fdatasync_warn_ms = 1000;            // log a warning when one fdatasync takes longer
  // Called on the log's shard after every successful fdatasync of an append batch, e.g. to feed
  // etcd_disk_wal_fsync_duration_seconds and etcd_disk_wal_write_bytes_total. Must be cheap, must not
  // throw, must not co_await; empty: nothing is called.
  std::function<void(const fdatasync_observation&)> on_fdatasync;
  // Testing only: every batch waits this long after its fdatasync (a slow disk), without blocking the
  // shard: raft heartbeats and client I/O go on meanwhile.
  std::chrono::milliseconds sync_delay_for_tests{0};

  // Largest payload one entry may carry with these settings.
  uint64_t entry_payload_bytes_max() const {
    return write_bytes_limit - block_bytes - entry_record_bytes(0);
  }
  void validate() const;  // throws wal_error for impossible settings
};

struct wal_stats {
  uint64_t appends = 0;
  uint64_t records = 0;
  uint64_t writes = 0;          // batches written (each made durable by its RWF_DSYNC write or an fdatasync)
  uint64_t bytes_written = 0;   // including rewritten partial blocks and padding
  uint64_t segments_created = 0;
  uint64_t prealloc_retries = 0;  // preallocations retried after a shortage (descriptors, memory, space)
  uint64_t segments_released = 0;
  uint64_t slow_fdatasyncs = 0;     // longer than slow_fdatasync_warn_ms
  uint64_t fdatasync_us_max = 0;
  uint64_t segment_prepare_us_max = 0;  // longest preparation of next.wal.tmp (create to directory fsync)
  uint64_t flusher_disk_waits = 0;      // batches that waited for a zero-fill chunk to finish first
};

// What the log held when opened.
struct recovered_state {
  hard_state state;
  snapshot_marker snapshot;    // latest snapshot marker, {0,0} if none
  std::vector<entry> entries;  // contiguous; may start at or below snapshot.index (see entries_after)
};

// Entries with index > snapshot_index, checking the log reaches back to it. Throws wal_error otherwise.
std::vector<entry> entries_after(std::vector<entry> entries, uint64_t snapshot_index);

class write_ahead_log {
 public:
  struct opened;

  // Creates the directory (0700) if needed, replays every segment, truncates a torn tail, and throws
  // corruption_error (file and offset) for damage before the last valid record. A fresh log (or one
  // whose last segment is past half full) gets its next segment fully prepared (zero-filled, durable)
  // before open returns, so the first appends never wait for or share the disk with the zero-fill.
  static runtime::task<opened> open(wal_config config);

  write_ahead_log(const write_ahead_log&) = delete;
  write_ahead_log& operator=(const write_ahead_log&) = delete;
  ~write_ahead_log();

  // Encodes `entries` then `hs` into the log NOW (in call order) and returns a task that completes when
  // they are durable, or throws wal_error if the log stopped first. Entries must be contiguous and
  // start at or below last_index() + 1 (a lower start overwrites the conflicting suffix, as raft does),
  // above the latest snapshot marker. Throws wal_error at once for invalid input, an oversized entry,
  // a full queue, or a stopped/closed log (then nothing was queued).
  runtime::task<void> append(std::span<const entry_view> entries, std::optional<hard_state> hs = std::nullopt);

  // Records that a snapshot at (index, term) exists (the snapshot file must already be durable).
  // Entries after a marker beyond last_index() start the log afresh at index + 1.
  runtime::task<void> append_snapshot_marker(snapshot_marker marker);

  // Deletes segments whose every live entry is <= snapshot_index (never the segment being written).
  // snapshot_index must not exceed the latest snapshot marker; waits until everything queued is durable.
  runtime::task<void> release(uint64_t snapshot_index);

  // Waits for everything queued, then closes the files. Required before destruction.
  runtime::task<void> close();

  uint64_t last_index() const { return last_index_; }
  const hard_state& state() const { return hard_state_; }
  const snapshot_marker& snapshot() const { return snapshot_; }
  bool stopped() const { return stopped_; }
  const wal_stats& stats() const { return stats_; }
  const std::vector<segment_id>& segments() const { return segments_; }  // on disk, oldest first
  const wal_config& config() const { return config_; }

 private:
  struct batch;
  struct waiter {
    uint64_t ticket;
    std::coroutine_handle<> handle;
  };
  struct durable_awaiter;
  enum class prealloc_state { idle, running, ready, failed };
  // Who prepares next.wal.tmp: open() with the disk to itself, or a background task beside appends
  // (then each zero-fill chunk is written and fdatasynced on its own disk turn, see disk_turn).
  enum class preparation { before_open_returns, beside_appends };
  // The flusher's write + fdatasync and the background preparer's chunk write + fdatasync never overlap,
  // so a log fdatasync never has to flush zero-fill writes out of the device cache.
  enum class disk_user { none, flusher, preparer };
  struct disk_turn;
  class disk_turn_guard;

  explicit write_ahead_log(wal_config config);

  runtime::task<recovered_state> recover();
  runtime::task<void> repair_tail(std::span<const std::byte> tail_block);
  void check_appendable(std::span<const entry_view> entries, uint64_t extra_bytes) const;
  template <typename Encode>
  void put_record(uint64_t bytes, uint64_t first_index_if_rolled, Encode encode);
  void roll_over(uint64_t first_index);
  batch& open_batch_with_room(uint64_t bytes);
  void seal(batch& b);
  uint64_t finish_append();
  runtime::task<void> wait_durable(uint64_t ticket);
  void kick();
  runtime::task<void> flush_loop();
  runtime::task<void> write_batch(batch& b);
  runtime::task<void> switch_segment(segment_id id);
  void start_preallocation();
  bool preallocation_due() const;
  void maybe_start_preallocation();
  runtime::task<void> preallocate(preparation mode);
  runtime::task<void> wait_preallocation();
  runtime::task<void> release_segments(uint64_t snapshot_index);
  runtime::task<void> zero_fill(int fd, uint64_t from, uint64_t to, preparation mode);
  disk_turn take_disk_turn(disk_user who);
  void give_back_disk_turn(disk_user who);
  void stop(const std::string& reason);
  void wake_waiters();

  wal_config config_;
  unsigned owner_shard_ = 0;
  int dir_fd_ = -1;
  int fd_ = -1;  // the segment being written

  // Where the next record goes (the end of all queued data).
  bool has_segment_ = false;
  uint64_t seq_ = 0;              // current segment
  uint64_t next_seq_ = 0;         // seq of the next segment created
  uint64_t segment_bytes_ = 0;    // current segment's size (from its header)
  uint64_t write_offset_ = 0;     // end of queued data in the current segment
  uint64_t chain_ = 0;            // checksum of the last queued record
  runtime::aligned_buffer tail_;  // bytes [align_down(write_offset_), write_offset_) of the last block

  // Log state as of the last queued append.
  uint64_t last_index_ = 0;
  hard_state hard_state_;
  snapshot_marker snapshot_;

  std::deque<std::unique_ptr<batch>> queue_;  // unwritten batches; only the back one may be open
  std::vector<runtime::aligned_buffer> spare_buffers_;
  uint64_t queued_bytes_ = 0;
  uint64_t appended_ticket_ = 0;  // last append handed out
  uint64_t durable_ticket_ = 0;   // every append <= this is durable
  std::vector<waiter> waiters_;
  bool flushing_ = false;
  std::coroutine_handle<> drained_waiter_;  // close() waiting for the flusher to exit

  prealloc_state prealloc_ = prealloc_state::idle;
  int prealloc_fd_ = -1;
  std::string prealloc_error_;
  bool prealloc_shortage_ = false;  // the failure was a shortage that passes (io_error::shortage)
  static constexpr std::chrono::milliseconds prealloc_retry_first{50};
  static constexpr std::chrono::milliseconds prealloc_retry_max{2000};
  std::coroutine_handle<> prealloc_waiter_;
  disk_user disk_user_ = disk_user::none;
  disk_user disk_waiter_side_ = disk_user::none;
  std::coroutine_handle<> disk_waiter_;  // the other side waiting for its turn (one flusher, one preparer)

  std::vector<segment_id> segments_;
  bool releasing_ = false;
  bool closing_ = false;
  bool closed_ = false;
  bool stopped_ = false;
  std::string stop_reason_;
  wal_stats stats_;
};

struct write_ahead_log::opened {
  std::unique_ptr<write_ahead_log> log;
  recovered_state recovered;
};

// Waits until `who` may use the disk; at most one flusher and one preparer ever ask.
struct write_ahead_log::disk_turn {
  write_ahead_log* log;
  disk_user who;
  bool await_ready() const noexcept {
    if (log->disk_user_ != disk_user::none) return false;
    log->disk_user_ = who;
    return true;
  }
  void await_suspend(std::coroutine_handle<> h) {
    assert(!log->disk_waiter_ && log->disk_user_ != who);
    log->disk_waiter_ = h;
    log->disk_waiter_side_ = who;
  }
  void await_resume() const noexcept { assert(log->disk_user_ == who); }
};

// Gives the turn back when it goes out of scope (also when the disk operation threw).
class write_ahead_log::disk_turn_guard {
 public:
  disk_turn_guard(write_ahead_log& log, disk_user who) : log_(log), who_(who) {}
  ~disk_turn_guard() { log_.give_back_disk_turn(who_); }
  disk_turn_guard(const disk_turn_guard&) = delete;
  disk_turn_guard& operator=(const disk_turn_guard&) = delete;

 private:
  write_ahead_log& log_;
  disk_user who_;
};

}  // namespace ringkv::storage::wal
