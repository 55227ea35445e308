// runtime/epoll_backend.cc - non-blocking socket calls on epoll readiness, file calls on the disk pool,
// completions dispatched once per turn (see epoll_backend.h).
#include "runtime/epoll_backend.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string>

namespace ringkv::runtime::detail {

namespace {

constexpr int would_block = INT_MIN;        // attempt(): try again once the fd is ready
constexpr int not_a_socket = INT_MIN + 1;   // attempt(): a stream writev on a file: run it on the pool
constexpr std::uint64_t pool_event_tag = ~std::uint64_t{0};
constexpr std::size_t nonblocking_fds_limit = 8;
constexpr std::uint32_t read_events = EPOLLIN | EPOLLRDHUP;
constexpr std::uint32_t any_failure = EPOLLERR | EPOLLHUP;

enum class route : std::uint8_t { inline_call, disk, socket_read, socket_write };

route route_of(io_op op) noexcept {
  switch (op) {
    case io_op::nop:
    case io_op::close: return route::inline_call;
    case io_op::accept:
    case io_op::recv: return route::socket_read;
    case io_op::connect:
    case io_op::send:
    case io_op::sendmsg: return route::socket_write;
    case io_op::read:
    case io_op::write:
    case io_op::writev:  // a stream writev (current position) is tried as a socket write first
    case io_op::fsync:
    case io_op::fdatasync:
    case io_op::fallocate:
    case io_op::openat:
    case io_op::rename:
    case io_op::unlink:
    case io_op::mkdir: return route::disk;
  }
  return route::disk;
}

bool is_stream_writev(const op_args& a) noexcept { return a.op == io_op::writev && a.offset == current_position; }
bool is_reader(const op_args& a) noexcept {
  return a.op == io_op::read || route_of(a.op) == route::socket_read;  // io_op::read here: an internal read
}

int errno_or(int result) noexcept { return result < 0 ? -errno : result; }

int set_nonblocking(int fd) noexcept {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return -errno;
  if ((flags & O_NONBLOCK) == 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return -errno;
  return 0;
}

// A connect in progress: 0 once connected, -error once failed, would_block while still connecting.
int connect_outcome(int fd) noexcept {
  int error = 0;
  socklen_t len = sizeof error;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0) return -errno;
  if (error != 0) return -error;
  sockaddr_storage peer{};
  socklen_t peer_len = sizeof peer;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) == 0) return 0;
  return errno == ENOTCONN ? would_block : -errno;
}

int start_connect(const op_args& a) noexcept {
  if (const int rc = set_nonblocking(a.fd); rc < 0) return rc;
  if (::connect(a.fd, static_cast<const sockaddr*>(a.addr), static_cast<socklen_t>(a.len)) == 0) return 0;
  return errno == EINPROGRESS ? would_block : -errno;
}

}  // namespace

// ---- op_list ----

void epoll_backend::op_list::push_back(pending_op& op) noexcept {
  op.next = nullptr;
  op.prev = tail;
  if (tail != nullptr) tail->next = &op;
  else head = &op;
  tail = &op;
}

void epoll_backend::op_list::remove(pending_op& op) noexcept {
  if (op.prev != nullptr) op.prev->next = op.next;
  else head = op.next;
  if (op.next != nullptr) op.next->prev = op.prev;
  else tail = op.prev;
  op.prev = op.next = nullptr;
}

epoll_backend::pending_op* epoll_backend::op_list::pop_front() noexcept {
  pending_op* op = head;
  if (op != nullptr) remove(*op);
  return op;
}

// ---- setup ----

epoll_backend::epoll_backend(unsigned ring_entries) : pool_(ring_entries) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) {
    throw setup_error(std::string("ringkv runtime: epoll_create1 failed: ") + std::strerror(errno));
  }
  epoll_event pool_event{};
  pool_event.events = EPOLLIN;
  pool_event.data.u64 = pool_event_tag;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, pool_.event_fd(), &pool_event) < 0) {
    const int error = errno;
    ::close(epoll_fd_);
    throw setup_error(std::string("ringkv runtime: epoll_ctl for the disk pool failed: ") + std::strerror(error));
  }
  finished_.reserve(events_batch_limit);
  dispatching_.reserve(events_batch_limit);
}

epoll_backend::~epoll_backend() { ::close(epoll_fd_); }

// ---- records ----

epoll_backend::pending_op& epoll_backend::acquire(completion* done, op_request* request, const op_args& args) {
  if (free_ == nullptr) {
    chunks_.push_back(std::make_unique<pending_op[]>(ops_chunk));
    for (std::size_t i = 0; i < ops_chunk; ++i) {
      chunks_.back()[i].next = free_;
      free_ = &chunks_.back()[i];
    }
  }
  pending_op& op = *free_;
  free_ = op.next;
  op.next = op.prev = nullptr;
  op.args = args;
  op.result = 0;
  op.done = done;
  op.request = request;
  op.multishot = false;
  op.started = false;
  if (request != nullptr) request->backend_state = &op;
  return op;
}

void epoll_backend::release(pending_op& op) noexcept {
  if (op.request != nullptr) op.request->backend_state = nullptr;
  op.where = pending_op::place::free;
  op.prev = nullptr;
  op.next = free_;
  free_ = &op;
}

// The op's last completion: recorded for this turn's dispatch, the record freed.
void epoll_backend::post(pending_op& op, int result, std::uint32_t flags) {
  finished_.push_back({op.done, result, flags});
  if (op.multishot) std::erase(multishots_, &op);
  release(op);
}

// ---- queueing (never completes anything) ----

int epoll_backend::queue(op_request& request) {
  pending_op& op = acquire(&request, &request, request.args);
  op.where = pending_op::place::submitted;
  submitted_.push_back(op);
  return 0;
}

void epoll_backend::queue_read(int fd, void* buf, unsigned len, completion* done) {
  make_nonblocking_once(fd);  // the wakeup eventfd and the signalfd: read only when there is something
  pending_op& op = acquire(done, nullptr, op_args{.op = io_op::read, .fd = fd, .addr = buf, .len = len});
  op.where = pending_op::place::submitted;
  submitted_.push_back(op);
}

void epoll_backend::queue_multishot_accept(int listen_fd, completion* done) {
  pending_op& op =
      acquire(done, nullptr, op_args{.op = io_op::accept, .fd = listen_fd, .flags = SOCK_CLOEXEC});
  op.multishot = true;
  op.where = pending_op::place::submitted;
  multishots_.push_back(&op);
  submitted_.push_back(op);
}

void epoll_backend::make_nonblocking_once(int fd) {
  for (int known : nonblocking_fds_) {
    if (known == fd) return;
  }
  set_nonblocking(fd);
  if (nonblocking_fds_.size() < nonblocking_fds_limit) nonblocking_fds_.push_back(fd);
}

// ---- starting ----

void epoll_backend::start_submitted() {
  op_list batch = submitted_;  // multishot accepts that hit their batch limit re-queue into a fresh list
  submitted_ = op_list{};
  while (pending_op* op = batch.pop_front()) start(*op);
}

void epoll_backend::start(pending_op& op) {
  if (op.multishot) {
    run_multishot(op);
    return;
  }
  const bool internal_read = op.request == nullptr;  // wakeup eventfd, signalfd: a readiness read
  switch (internal_read ? route::socket_read : route_of(op.args.op)) {
    case route::inline_call: post(op, run_file_op(op.args)); return;
    case route::disk:
      if (!is_stream_writev(op.args)) {
        to_disk(op);
        return;
      }
      break;
    case route::socket_read:
    case route::socket_write: break;
  }
  const int result = attempt(op);
  if (result == would_block) wait_for_fd(op);
  else if (result == not_a_socket) to_disk(op);
  else post(op, result);
}

// One non-blocking try of a socket operation (or an internal read): its result, or would_block.
int epoll_backend::attempt(pending_op& op) {
  const op_args& a = op.args;
  for (;;) {
    int rc = 0;
    switch (a.op) {
      case io_op::read: rc = errno_or(static_cast<int>(::read(a.fd, const_cast<void*>(a.addr), a.len))); break;
      case io_op::recv:
        rc = errno_or(static_cast<int>(::recv(a.fd, const_cast<void*>(a.addr), a.len, a.flags | MSG_DONTWAIT)));
        break;
      case io_op::send: rc = errno_or(static_cast<int>(::send(a.fd, a.addr, a.len, a.flags | MSG_DONTWAIT))); break;
      case io_op::sendmsg:
        rc = errno_or(static_cast<int>(::sendmsg(a.fd, static_cast<const msghdr*>(a.addr), a.flags | MSG_DONTWAIT)));
        break;
      case io_op::writev: {
        msghdr message{};
        message.msg_iov = const_cast<iovec*>(static_cast<const iovec*>(a.addr));
        message.msg_iovlen = a.len;
        rc = errno_or(static_cast<int>(::sendmsg(a.fd, &message, MSG_DONTWAIT | MSG_NOSIGNAL)));
        if (rc == -ENOTSOCK) return not_a_socket;
        break;
      }
      case io_op::accept:
        if (!op.started) {
          op.started = true;
          if (const int set = set_nonblocking(a.fd); set < 0) return set;
        }
        rc = errno_or(::accept4(a.fd, nullptr, nullptr, a.flags));
        break;
      case io_op::connect:
        if (op.started) return connect_outcome(a.fd);
        op.started = true;
        return start_connect(a);
      default: return -EINVAL;
    }
    if (rc == -EINTR) continue;
    return rc == -EAGAIN || rc == -EWOULDBLOCK ? would_block : rc;
  }
}

// A multishot accept takes what the backlog holds (up to accept_batch_limit a turn), then waits.
void epoll_backend::run_multishot(pending_op& op) {
  if (!op.started) {
    op.started = true;
    set_nonblocking(op.args.fd);
  }
  for (int taken = 0; taken < accept_batch_limit;) {
    const int fd = ::accept4(op.args.fd, nullptr, nullptr, op.args.flags);
    if (fd >= 0) {
      finished_.push_back({op.done, fd, completion_more});
      ++taken;
      continue;
    }
    const int error = errno;
    if (error == EINTR) continue;
    if (error == EAGAIN || error == EWOULDBLOCK) {
      wait_for_fd(op);
      return;
    }
    post(op, -error);  // an error ends the request, as io_uring's multishot accept does
    return;
  }
  op.where = pending_op::place::submitted;  // more may be waiting: next turn, after everyone else ran
  submitted_.push_back(op);
}

epoll_backend::fd_waiters& epoll_backend::waiters_of(int fd) {
  assert(fd >= 0);
  if (static_cast<std::size_t>(fd) >= fds_.size()) fds_.resize(std::max<std::size_t>(fd + 1, fds_.size() * 2));
  return fds_[static_cast<std::size_t>(fd)];
}

void epoll_backend::wait_for_fd(pending_op& op) {
  fd_waiters& waiters = waiters_of(op.args.fd);
  (is_reader(op.args) ? waiters.readers : waiters.writers).push_back(op);
  op.where = pending_op::place::waiting;
  if (!waiters.dirty) {
    waiters.dirty = true;
    dirty_fds_.push_back(op.args.fd);
  }
}

// ---- disk ----

void epoll_backend::to_disk(pending_op& op) {
  if (backlog_.empty() && pool_.try_submit(op)) {
    op.where = pending_op::place::in_pool;
    in_pool_.push_back(op);
    return;
  }
  op.where = pending_op::place::backlog;
  backlog_.push_back(op);
}

void epoll_backend::feed_pool() {
  while (!backlog_.empty() && pool_.try_submit(*backlog_.head)) {
    pending_op* op = backlog_.pop_front();
    op->where = pending_op::place::in_pool;
    in_pool_.push_back(*op);
  }
}

void epoll_backend::collect_disk() {
  disk_job* job = pool_.take_done();
  while (job != nullptr) {
    disk_job* next = job->next_done;  // the record is reused once posted
    auto& op = static_cast<pending_op&>(*job);
    in_pool_.remove(op);
    post(op, op.result);
    job = next;
  }
  feed_pool();
}

// ---- readiness ----

void epoll_backend::rearm_dirty() {
  for (int fd : dirty_fds_) {
    fd_waiters& waiters = fds_[static_cast<std::size_t>(fd)];
    waiters.dirty = false;
    const std::uint32_t wanted =
        (waiters.readers.empty() ? 0 : read_events) | (waiters.writers.empty() ? 0 : std::uint32_t{EPOLLOUT});
    if (wanted == 0) {
      waiters.armed = 0;
      continue;
    }
    if (wanted == waiters.armed) continue;
    epoll_event event{};
    event.events = wanted | EPOLLONESHOT;
    event.data.u64 = static_cast<std::uint64_t>(fd);
    int rc = ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &event);
    if (rc < 0 && errno == ENOENT) rc = ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event);
    if (rc == 0) {
      waiters.armed = wanted;
      continue;
    }
    const int error = errno;  // not pollable (EPERM) or not open (EBADF): every waiter fails with it
    waiters.armed = 0;
    while (pending_op* op = waiters.readers.pop_front()) post(*op, -error);
    while (pending_op* op = waiters.writers.pop_front()) post(*op, -error);
  }
  dirty_fds_.clear();
}

void epoll_backend::on_ready(int fd, std::uint32_t events) {
  if (static_cast<std::size_t>(fd) >= fds_.size()) return;
  fd_waiters& waiters = fds_[static_cast<std::size_t>(fd)];
  waiters.armed = 0;  // one-shot: epoll disarmed it
  if (events & (read_events | any_failure)) retry(waiters.readers);
  if (events & (EPOLLOUT | any_failure)) retry(waiters.writers);
  if ((!waiters.readers.empty() || !waiters.writers.empty()) && !waiters.dirty) {
    waiters.dirty = true;
    dirty_fds_.push_back(fd);
  }
}

void epoll_backend::retry(op_list& list) {
  op_list waiting = list;
  list = op_list{};
  while (pending_op* op = waiting.pop_front()) {
    if (op->multishot) {
      run_multishot(*op);  // waits again, re-queues itself or ends
      continue;
    }
    const int result = attempt(*op);
    if (result == would_block) list.push_back(*op);
    else post(*op, result);
  }
}

int epoll_backend::wait_events(bool may_sleep, std::chrono::nanoseconds timeout) {
  const bool sleep = may_sleep && timeout.count() != 0;
  if (have_pwait2_) {
    timespec ts{};
    if (sleep && timeout.count() > 0) {
      ts.tv_sec = static_cast<time_t>(timeout.count() / 1'000'000'000);
      ts.tv_nsec = static_cast<long>(timeout.count() % 1'000'000'000);
    }
    const int n = ::epoll_pwait2(epoll_fd_, events_, events_batch_limit, sleep && timeout.count() < 0 ? nullptr : &ts,
                                 nullptr);
    if (n >= 0 || errno != ENOSYS) return n;
    have_pwait2_ = false;  // kernel < 5.11 or a seccomp profile without it
  }
  int timeout_ms = 0;
  if (sleep) {
    timeout_ms = timeout.count() < 0 ? -1
                                     : static_cast<int>(std::min<std::int64_t>(
                                           (timeout.count() + 999'999) / 1'000'000, INT_MAX));
  }
  return ::epoll_wait(epoll_fd_, events_, events_batch_limit, timeout_ms);
}

// ---- the turn ----

unsigned epoll_backend::submit_and_dispatch(bool wait_for_completion, std::chrono::nanoseconds timeout) {
  start_submitted();
  feed_pool();
  rearm_dirty();
  const bool may_sleep = wait_for_completion && finished_.empty() && submitted_.empty();
  const int ready = wait_events(may_sleep, timeout);
  for (int i = 0; i < ready; ++i) {
    if (events_[i].data.u64 == pool_event_tag) collect_disk();
    else on_ready(static_cast<int>(events_[i].data.u64), events_[i].events);
  }
  // Dispatch what finished so far; completions posted while dispatching (cancels) wait for the next turn.
  dispatching_.swap(finished_);
  for (const finished& entry : dispatching_) entry.done->on_complete(entry.done, entry.result, entry.flags);
  const auto dispatched = static_cast<unsigned>(dispatching_.size());
  dispatching_.clear();
  return dispatched;
}

// ---- cancellation ----

void epoll_backend::cancel_op(pending_op& op) {
  switch (op.where) {
    case pending_op::place::free: return;
    case pending_op::place::submitted: submitted_.remove(op); break;
    case pending_op::place::backlog: backlog_.remove(op); break;
    case pending_op::place::waiting: {
      fd_waiters& waiters = fds_[static_cast<std::size_t>(op.args.fd)];
      (is_reader(op.args) ? waiters.readers : waiters.writers).remove(op);
      if (waiters.readers.empty() && waiters.writers.empty()) waiters.armed = 0;  // see fd_waiters
      break;
    }
    case pending_op::place::in_pool:
      pool_.try_cancel(op);  // comes back through the pool: -ECANCELED if it had not started
      return;
  }
  post(op, -ECANCELED);
}

void epoll_backend::cancel(op_request& request) {
  if (request.backend_state != nullptr) cancel_op(*static_cast<pending_op*>(request.backend_state));
}

void epoll_backend::cancel_multishot(const completion& done) {
  for (pending_op* op : multishots_) {
    if (op->done == &done) {
      cancel_op(*op);
      return;
    }
  }
}

void epoll_backend::cancel_all() {
  while (pending_op* op = submitted_.head) cancel_op(*op);
  while (pending_op* op = backlog_.head) cancel_op(*op);
  for (fd_waiters& waiters : fds_) {
    while (pending_op* op = waiters.readers.head) cancel_op(*op);
    while (pending_op* op = waiters.writers.head) cancel_op(*op);
  }
  for (pending_op* op = in_pool_.head; op != nullptr; op = op->next) pool_.try_cancel(*op);
}

}  // namespace ringkv::runtime::detail
