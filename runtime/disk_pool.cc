// runtime/disk_pool.cc - the disk thread pool of the epoll backend, and the blocking file calls it runs.
#include "runtime/disk_pool.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>

#include "runtime/backend.h"

namespace ringkv::runtime::detail {

namespace {

int result_of(long rc) noexcept { return rc < 0 ? -errno : static_cast<int>(rc); }

off_t offset_of(const op_args& a) noexcept {
  return a.offset == current_position ? off_t{-1} : static_cast<off_t>(a.offset);
}

long run_once(const op_args& a) noexcept {
  const auto len = static_cast<std::size_t>(a.len);
  switch (a.op) {
    case io_op::nop: return 0;
    case io_op::read:
      if (a.offset == current_position) return ::read(a.fd, const_cast<void*>(a.addr), len);
      return ::pread(a.fd, const_cast<void*>(a.addr), len, offset_of(a));
    case io_op::write: {
      iovec one{const_cast<void*>(a.addr), len};
      return ::pwritev2(a.fd, &one, 1, offset_of(a), a.flags);  // flags: RWF_DSYNC or 0
    }
    case io_op::writev:
      return ::pwritev2(a.fd, static_cast<const iovec*>(a.addr), static_cast<int>(a.len), offset_of(a), 0);
    case io_op::fsync: return ::fsync(a.fd);
    case io_op::fdatasync: return ::fdatasync(a.fd);
    case io_op::fallocate:
      return ::fallocate(a.fd, a.flags, static_cast<off_t>(a.offset), static_cast<off_t>(a.len));
    case io_op::openat: return ::openat(a.fd, static_cast<const char*>(a.addr), a.flags, a.mode);
    case io_op::close: return ::close(a.fd);
    case io_op::rename:
      return ::renameat(AT_FDCWD, static_cast<const char*>(a.addr), AT_FDCWD, static_cast<const char*>(a.addr2));
    case io_op::unlink: return ::unlinkat(AT_FDCWD, static_cast<const char*>(a.addr), a.flags);
    case io_op::mkdir: return ::mkdirat(AT_FDCWD, static_cast<const char*>(a.addr), a.mode);
    case io_op::accept:
    case io_op::connect:
    case io_op::recv:
    case io_op::send:
    case io_op::sendmsg: break;  // sockets never come here (epoll_backend waits for readiness)
  }
  errno = EINVAL;
  return -1;
}

}  // namespace

int run_file_op(const op_args& args) noexcept {
  for (;;) {
    const int result = result_of(run_once(args));
    if (result != -EINTR || args.op == io_op::close) return result;  // close is never retried
  }
}

disk_pool::disk_pool(std::size_t queue_limit) : queue_limit_(queue_limit), queue_(queue_limit, nullptr) {
  assert(queue_limit_ > 0);
  event_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (event_fd_ < 0) throw setup_error("ringkv runtime: eventfd for the disk thread pool failed");
  threads_.reserve(threads_count);
  for (unsigned i = 0; i < threads_count; ++i) threads_.emplace_back([this] { work(); });
}

disk_pool::~disk_pool() {
  assert(outstanding_ == 0 && "disk pool destroyed with jobs in flight");
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wanted_.notify_all();
  for (std::thread& thread : threads_) thread.join();
  ::close(event_fd_);
}

bool disk_pool::try_submit(disk_job& job) {
  {
    std::lock_guard lock(mutex_);
    if (count_ == queue_limit_) return false;
    job.at = disk_job::state::queued;
    job.next_done = nullptr;
    queue_[(head_ + count_) % queue_limit_] = &job;
    ++count_;
  }
  ++outstanding_;
  wanted_.notify_one();
  return true;
}

bool disk_pool::try_cancel(disk_job& job) {
  std::lock_guard lock(mutex_);
  if (job.at != disk_job::state::queued) return false;
  job.at = disk_job::state::cancelled;  // the worker that pops it completes it without running it
  return true;
}

disk_job* disk_pool::take_done() {
  std::uint64_t ignored = 0;
  [[maybe_unused]] const ssize_t got = ::read(event_fd_, &ignored, sizeof ignored);  // before taking: no lost wake
  disk_job* taken = nullptr;
  {
    std::lock_guard lock(mutex_);
    taken = done_head_;
    done_head_ = done_tail_ = nullptr;
  }
  for (disk_job* job = taken; job != nullptr; job = job->next_done) --outstanding_;
  return taken;
}

void disk_pool::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wanted_.wait(lock, [this] { return stopping_ || count_ > 0; });
    if (count_ == 0) return;  // stopping, nothing left
    disk_job* job = queue_[head_];
    head_ = (head_ + 1) % queue_limit_;
    --count_;
    if (job->at == disk_job::state::cancelled) {
      job->result = -ECANCELED;
    } else {
      job->at = disk_job::state::running;
      lock.unlock();
      const int result = run_file_op(job->args);
      lock.lock();
      job->result = result;
    }
    job->at = disk_job::state::done;
    const bool was_empty = done_head_ == nullptr;
    if (was_empty) done_head_ = job;
    else done_tail_->next_done = job;
    done_tail_ = job;
    if (was_empty) {
      const std::uint64_t one = 1;
      [[maybe_unused]] const ssize_t written = ::write(event_fd_, &one, sizeof one);
    }
  }
}

}  // namespace ringkv::runtime::detail
