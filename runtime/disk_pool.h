// runtime/disk_pool.h - the epoll backend's disk side: a small fixed pool of threads that run blocking
// file calls (pread/pwritev2 incl. O_DIRECT and RWF_DSYNC, fdatasync, fsync, fallocate, openat, rename,
// unlink, mkdir) and hand each result back to the owning shard through an eventfd.
//
//   shard thread                         worker threads (threads_count)
//   try_submit(job) -> [bounded FIFO] --> pop, state = running, run the syscall (blocking)
//                                          push onto the done list, write the eventfd if it was empty
//   event_fd readable -> take_done() <--- [done list]
//
// A job's result is the syscall's (bytes, fd or 0; -errno), stored only after the call returned, so a
// write or fdatasync is reported done only once the kernel said so. try_cancel() stops a job that no
// worker has started (it comes back through the done list with -ECANCELED); a running job finishes with
// its real result, as io_uring does for blocking file I/O. The pool belongs to one shard: submit, cancel
// and take_done run on that shard's thread only. Destroy it only when no job is queued or running.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/io.h"

namespace ringkv::runtime::detail {

struct disk_job {
  enum class state : std::uint8_t { idle, queued, running, cancelled, done };
  op_args args;
  int result = 0;
  state at = state::idle;   // guarded by the pool's mutex while the job is in the pool
  disk_job* next_done = nullptr;
};

// Runs one file operation synchronously on the calling thread: the kernel's result or -errno.
int run_file_op(const op_args& args) noexcept;

class disk_pool {
 public:
  static constexpr unsigned threads_count = 2;  // per shard: the WAL's one write plus a snapshot or read

  explicit disk_pool(std::size_t queue_limit);  // throws setup_error when the eventfd cannot be made
  ~disk_pool();
  disk_pool(const disk_pool&) = delete;
  disk_pool& operator=(const disk_pool&) = delete;

  int event_fd() const noexcept { return event_fd_; }
  // False when queue_limit jobs already wait for a worker (the caller keeps the job and retries).
  bool try_submit(disk_job& job);
  // True when the job had not started: it completes with -ECANCELED (still through take_done).
  bool try_cancel(disk_job& job);
  // Clears the eventfd and returns the finished jobs (a list through next_done), oldest first.
  disk_job* take_done();
  // Jobs submitted and not yet taken back.
  std::size_t outstanding() const noexcept { return outstanding_; }

 private:
  void work();

  const std::size_t queue_limit_;
  std::mutex mutex_;
  std::condition_variable wanted_;
  std::vector<disk_job*> queue_;   // ring of queue_limit_ slots
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  disk_job* done_head_ = nullptr;
  disk_job* done_tail_ = nullptr;
  bool stopping_ = false;
  std::size_t outstanding_ = 0;    // shard thread only
  int event_fd_ = -1;
  std::vector<std::thread> threads_;
};

}  // namespace ringkv::runtime::detail
