// runtime/epoll_backend.h - the backend for systems that refuse io_uring (container seccomp profiles):
// sockets through non-blocking syscalls and epoll readiness, disk operations on a small thread pool.
//
// A turn (submit_and_dispatch):
//   operations queued this turn: try each socket operation once without blocking (recv/send with
//     MSG_DONTWAIT, accept4 and connect on a non-blocking socket); what would block waits on its fd;
//     file operations go to the disk pool (runtime/disk_pool.h); nop and close run at once
//   re-arm every fd whose waiters changed: one EPOLL_CTL_MOD (ADD if unknown) with EPOLLONESHOT
//   epoll_wait (sleeps only when asked to and nothing completed yet)
//   ready fds: retry their waiters; the pool's eventfd: collect finished disk jobs
//   dispatch every completion gathered (never from queue() or cancel(): the reactor's contract)
// Registrations are one-shot and re-armed per wait, so a closed and reused fd number is never left
// registered for the wrong file (epoll keys on the file: a MOD on the new one fails, then we ADD).
// Cancel: a waiting or not-yet-started operation completes with -ECANCELED; a disk call already
// running completes with its real result. Memory: operation records come from a free list that grows
// to the peak number in flight; the disk pool's queue is bounded (ring_entries) and the overflow waits
// here in FIFO order.
#pragma once

#include <sys/epoll.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "runtime/backend.h"
#include "runtime/disk_pool.h"

namespace ringkv::runtime::detail {

class epoll_backend final : public backend {
 public:
  static constexpr int events_batch_limit = 256;   // epoll events taken per epoll_wait
  static constexpr int accept_batch_limit = 64;    // connections a multishot accept takes per turn
  static constexpr std::size_t ops_chunk = 64;     // operation records allocated at once

  explicit epoll_backend(unsigned ring_entries);  // throws setup_error when epoll or eventfd fail
  ~epoll_backend() override;
  epoll_backend(const epoll_backend&) = delete;
  epoll_backend& operator=(const epoll_backend&) = delete;

  io_backend kind() const noexcept override { return io_backend::epoll; }
  int queue(op_request& request) override;
  void queue_read(int fd, void* buf, unsigned len, completion* done) override;
  void queue_multishot_accept(int listen_fd, completion* done) override;
  void cancel(op_request& request) override;
  void cancel_multishot(const completion& done) override;
  void cancel_all() override;
  unsigned submit_and_dispatch(bool wait_for_completion, std::chrono::nanoseconds timeout) override;

 private:
  // One operation in flight. Lives in exactly one place at a time (`where`).
  struct pending_op : disk_job {
    enum class place : std::uint8_t { free, submitted, waiting, backlog, in_pool };
    place where = place::free;
    bool multishot = false;
    bool started = false;       // accept/connect: the socket was made non-blocking, connect() issued
    completion* done = nullptr;
    op_request* request = nullptr;  // null for internal reads and multishot accepts
    pending_op* prev = nullptr;
    pending_op* next = nullptr;
  };
  struct op_list {
    pending_op* head = nullptr;
    pending_op* tail = nullptr;
    bool empty() const noexcept { return head == nullptr; }
    void push_back(pending_op& op) noexcept;
    void remove(pending_op& op) noexcept;
    pending_op* pop_front() noexcept;
  };
  // Waiters on one fd, by direction. `armed` is the one-shot mask epoll holds for it (0 once it fired);
  // it is reset whenever both lists are empty, so a reused fd number is always registered afresh.
  struct fd_waiters {
    op_list readers;
    op_list writers;
    std::uint32_t armed = 0;
    bool dirty = false;  // waiters changed this turn: re-arm before sleeping
  };
  struct finished {
    completion* done;
    int result;
    std::uint32_t flags;
  };

  pending_op& acquire(completion* done, op_request* request, const op_args& args);
  void release(pending_op& op) noexcept;
  void post(pending_op& op, int result, std::uint32_t flags = 0);

  void start_submitted();
  void start(pending_op& op);
  int attempt(pending_op& op);
  void run_multishot(pending_op& op);
  void wait_for_fd(pending_op& op);
  void to_disk(pending_op& op);
  void feed_pool();
  void collect_disk();
  void rearm_dirty();
  void on_ready(int fd, std::uint32_t events);
  void retry(op_list& list);
  int wait_events(bool may_sleep, std::chrono::nanoseconds timeout);
  fd_waiters& waiters_of(int fd);
  void cancel_op(pending_op& op);
  void make_nonblocking_once(int fd);

  int epoll_fd_ = -1;
  bool have_pwait2_ = true;   // epoll_pwait2 (ns timeouts); false after ENOSYS: epoll_wait in ms
  disk_pool pool_;
  op_list submitted_;         // queued this turn, not yet started
  op_list backlog_;           // file operations waiting for room in the pool's queue
  op_list in_pool_;           // file operations the pool holds
  std::vector<pending_op*> multishots_;  // armed multishot accepts (few: one per listener)
  std::vector<fd_waiters> fds_;          // indexed by fd
  std::vector<int> dirty_fds_;
  std::vector<int> nonblocking_fds_;     // internal fds already made non-blocking (bounded)
  std::vector<finished> finished_;       // completions to dispatch
  std::vector<finished> dispatching_;
  std::vector<std::unique_ptr<pending_op[]>> chunks_;
  pending_op* free_ = nullptr;
  epoll_event events_[events_batch_limit];
};

}  // namespace ringkv::runtime::detail
