// runtime/uring_backend.cc - io_uring setup, feature probe, SQE preparation and batched CQE dispatch.
#include "runtime/uring_backend.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <liburing.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace ringkv::runtime::detail {

namespace {

constexpr unsigned cqe_batch_limit = 256;        // CQEs copied out per peek
constexpr std::uint64_t ignored_user_data = 0;   // cancel requests: their CQE is dropped
static_assert(IORING_CQE_F_MORE == completion_more, "completions carry the CQE's flags unchanged");

struct required_opcode {
  int opcode;
  const char* name;
};

constexpr required_opcode required_opcodes[] = {
    {IORING_OP_NOP, "NOP"},           {IORING_OP_READ, "READ"},
    {IORING_OP_WRITE, "WRITE"},       {IORING_OP_WRITEV, "WRITEV"},
    {IORING_OP_FSYNC, "FSYNC"},       {IORING_OP_FALLOCATE, "FALLOCATE"},
    {IORING_OP_OPENAT, "OPENAT"},     {IORING_OP_CLOSE, "CLOSE"},
    {IORING_OP_RENAMEAT, "RENAMEAT"}, {IORING_OP_UNLINKAT, "UNLINKAT"},
    {IORING_OP_MKDIRAT, "MKDIRAT"},   {IORING_OP_ACCEPT, "ACCEPT"},
    {IORING_OP_CONNECT, "CONNECT"},   {IORING_OP_RECV, "RECV"},
    {IORING_OP_SEND, "SEND"},         {IORING_OP_SENDMSG, "SENDMSG"},
    {IORING_OP_ASYNC_CANCEL, "ASYNC_CANCEL"}, {IORING_OP_SOCKET, "SOCKET"},  // SOCKET: marks 5.19 (multishot accept, cancel ANY)
};

std::string setup_failure_message(int error) {
  std::string text = "ringkv runtime: io_uring_setup failed: ";
  text += std::strerror(error);
  if (error == ENOSYS || error == EPERM) {
    text += ". io_uring is blocked on this system (a container seccomp profile or "
            "kernel.io_uring_disabled). Allow the io_uring_setup, io_uring_enter and io_uring_register "
            "syscalls (e.g. run the container with a seccomp profile that permits them) or run on the host.";
  } else if (error == ENOMEM) {
    text += ". The ring could not be allocated: lower ring_entries or raise RLIMIT_MEMLOCK.";
  }
  return text;
}

void probe_kernel(io_uring& ring, const io_uring_params& params) {
  if (!(params.features & IORING_FEAT_EXT_ARG) || !(params.features & IORING_FEAT_NODROP)) {
    throw setup_error("ringkv runtime: the kernel's io_uring lacks EXT_ARG/NODROP (need Linux >= 5.19)");
  }
  io_uring_probe* probe = io_uring_get_probe_ring(&ring);
  if (probe == nullptr) throw setup_error("ringkv runtime: io_uring opcode probe failed (need Linux >= 5.19)");
  std::string missing;
  for (const required_opcode& op : required_opcodes) {
    if (!io_uring_opcode_supported(probe, op.opcode)) missing += std::string(" ") + op.name;
  }
  io_uring_free_probe(probe);
  if (!missing.empty()) {
    throw setup_error("ringkv runtime: the kernel's io_uring lacks opcodes:" + missing + " (need Linux >= 5.19)");
  }
}

__kernel_timespec to_timespec(std::chrono::nanoseconds timeout) {
  __kernel_timespec ts{};
  ts.tv_sec = static_cast<long long>(timeout.count() / 1'000'000'000);
  ts.tv_nsec = static_cast<long long>(timeout.count() % 1'000'000'000);
  return ts;
}

}  // namespace

struct uring_backend::ring {
  io_uring uring{};
  // DEFER_TASKRUN: completions are posted only when this thread enters the kernel asking for events
  // (no inter-processor interrupts or task-work signals while the shard runs coroutines). Then every
  // turn must enter the kernel with GETEVENTS, which the loop does once per turn anyway.
  bool deferred_task_run = false;
};

uring_backend::uring_backend(unsigned ring_entries) : ring_(std::make_unique<ring>()) {
  // Preferred set first; each fallback drops what an older kernel refuses with EINVAL.
  constexpr unsigned setup_flag_sets[] = {
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL,
      IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL,
      0,
  };
  int rc = -EINVAL;
  io_uring_params params{};
  for (unsigned flags : setup_flag_sets) {
    params = io_uring_params{};
    params.flags = flags;
    rc = io_uring_queue_init_params(ring_entries, &ring_->uring, &params);
    if (rc != -EINVAL) break;
  }
  if (rc < 0) throw setup_error(setup_failure_message(-rc));
  ring_->deferred_task_run = (params.flags & IORING_SETUP_DEFER_TASKRUN) != 0;
  try {
    probe_kernel(ring_->uring, params);
  } catch (...) {
    io_uring_queue_exit(&ring_->uring);
    throw;
  }
}

uring_backend::~uring_backend() { io_uring_queue_exit(&ring_->uring); }

void* uring_backend::next_sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_->uring);
  while (sqe == nullptr) {  // submission queue full: flush it (rare: only under a burst)
    io_uring_submit(&ring_->uring);
    sqe = io_uring_get_sqe(&ring_->uring);
  }
  return sqe;
}

int uring_backend::queue(op_request& request) {
  const op_args& a = request.args;  // a.len fits 32 bits: reactor::start_op checked
  const auto len = static_cast<unsigned>(a.len);
  auto* sqe = static_cast<io_uring_sqe*>(next_sqe());
  switch (a.op) {
    case io_op::nop: io_uring_prep_nop(sqe); break;
    case io_op::read: io_uring_prep_read(sqe, a.fd, const_cast<void*>(a.addr), len, a.offset); break;
    case io_op::write:
      io_uring_prep_write(sqe, a.fd, a.addr, len, a.offset);
      sqe->rw_flags = a.flags;  // RWF_* (e.g. RWF_DSYNC), 0 for a plain write
      break;
    case io_op::writev:
      io_uring_prep_writev(sqe, a.fd, static_cast<const iovec*>(a.addr), len, a.offset);
      break;
    case io_op::fsync: io_uring_prep_fsync(sqe, a.fd, 0); break;
    case io_op::fdatasync: io_uring_prep_fsync(sqe, a.fd, IORING_FSYNC_DATASYNC); break;
    case io_op::fallocate: io_uring_prep_fallocate(sqe, a.fd, a.flags, a.offset, a.len); break;
    case io_op::openat:
      io_uring_prep_openat(sqe, a.fd, static_cast<const char*>(a.addr), a.flags, a.mode);
      break;
    case io_op::close: io_uring_prep_close(sqe, a.fd); break;
    case io_op::rename:
      io_uring_prep_renameat(sqe, AT_FDCWD, static_cast<const char*>(a.addr), AT_FDCWD,
                             static_cast<const char*>(a.addr2), 0);
      break;
    case io_op::unlink:
      io_uring_prep_unlinkat(sqe, AT_FDCWD, static_cast<const char*>(a.addr), a.flags);
      break;
    case io_op::mkdir: io_uring_prep_mkdirat(sqe, AT_FDCWD, static_cast<const char*>(a.addr), a.mode); break;
    case io_op::accept: io_uring_prep_accept(sqe, a.fd, nullptr, nullptr, a.flags); break;
    case io_op::connect:
      io_uring_prep_connect(sqe, a.fd, static_cast<const sockaddr*>(a.addr), static_cast<socklen_t>(a.len));
      break;
    case io_op::recv:
      io_uring_prep_recv(sqe, a.fd, const_cast<void*>(a.addr), len, a.flags);
      // A recv is usually issued right after the previous message was consumed, when the socket is
      // empty: arm the poll at once instead of trying a receive that would fail with EAGAIN first.
      // (If data is already there the poll fires at arming time, so nothing is lost.)
      sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
      break;
    case io_op::send: io_uring_prep_send(sqe, a.fd, a.addr, len, a.flags); break;
    case io_op::sendmsg:
      io_uring_prep_sendmsg(sqe, a.fd, static_cast<const msghdr*>(a.addr), static_cast<unsigned>(a.flags));
      break;
  }
  io_uring_sqe_set_data(sqe, static_cast<completion*>(&request));
  return 0;
}

void uring_backend::queue_read(int fd, void* buf, unsigned len, completion* done) {
  auto* sqe = static_cast<io_uring_sqe*>(next_sqe());
  io_uring_prep_read(sqe, fd, buf, len, 0);
  io_uring_sqe_set_data(sqe, done);
}

void uring_backend::queue_multishot_accept(int listen_fd, completion* done) {
  auto* sqe = static_cast<io_uring_sqe*>(next_sqe());
  io_uring_prep_multishot_accept(sqe, listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data(sqe, done);
}

void uring_backend::queue_cancel(const completion* target) {
  auto* sqe = static_cast<io_uring_sqe*>(next_sqe());
  io_uring_prep_cancel(sqe, const_cast<completion*>(target), 0);
  io_uring_sqe_set_data64(sqe, ignored_user_data);
}

void uring_backend::cancel_all() {
  auto* sqe = static_cast<io_uring_sqe*>(next_sqe());
  io_uring_prep_cancel(sqe, nullptr, IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_ALL);
  io_uring_sqe_set_data64(sqe, ignored_user_data);
}

unsigned uring_backend::submit_and_dispatch(bool wait_for_completion, std::chrono::nanoseconds timeout) {
  io_uring* uring = &ring_->uring;
  if (wait_for_completion && io_uring_cq_ready(uring) == 0) {
    io_uring_cqe* cqe = nullptr;
    if (timeout.count() >= 0) {
      __kernel_timespec ts = to_timespec(timeout);
      io_uring_submit_and_wait_timeout(uring, &cqe, 1, &ts, nullptr);
    } else {
      io_uring_submit_and_wait(uring, 1);
    }
  } else if (ring_->deferred_task_run) {
    io_uring_submit_and_get_events(uring);  // submits and lets the kernel post finished completions
  } else if (io_uring_sq_ready(uring) > 0) {
    io_uring_submit(uring);
  }
  unsigned dispatched = 0;
  for (;;) {
    io_uring_cqe* cqes[cqe_batch_limit];
    const unsigned count = io_uring_peek_batch_cqe(uring, cqes, cqe_batch_limit);
    if (count == 0) break;
    // Copy the batch out and release the slots before resuming anyone, so resumed coroutines find a
    // free completion queue.
    struct reaped {
      std::uint64_t user_data;
      int result;
      std::uint32_t flags;
    } batch[cqe_batch_limit];
    for (unsigned i = 0; i < count; ++i) batch[i] = {cqes[i]->user_data, cqes[i]->res, cqes[i]->flags};
    io_uring_cq_advance(uring, count);
    for (unsigned i = 0; i < count; ++i) {
      if (batch[i].user_data == ignored_user_data) continue;
      auto* done = reinterpret_cast<completion*>(static_cast<std::uintptr_t>(batch[i].user_data));
      done->on_complete(done, batch[i].result, batch[i].flags);
    }
    dispatched += count;
    if (count < cqe_batch_limit) break;
  }
  return dispatched;
}

}  // namespace ringkv::runtime::detail
