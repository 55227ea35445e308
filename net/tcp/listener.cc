// Listening socket, accept and the accept loop on the runtime: see listener.h.
#include "net/tcp/listener.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cassert>
#include <utility>

#include "net/tcp/wait_list.h"
#include "runtime/acceptor.h"
#include "runtime/cancel.h"
#include "runtime/io.h"
#include "runtime/log.h"
#include "runtime/timer.h"
#include "runtime/when_all.h"

namespace ringkv::net {

namespace io = runtime::io;

struct listener::state {
  explicit state(int listen_fd) : fd(listen_fd), acceptor(listen_fd) {}

  int fd;
  endpoint local;
  connection_limits limits;
  size_t max_connections = SIZE_MAX;
  uint64_t refused_over_cap = 0;
  runtime::clock::time_point refusal_logged{};  // the last "connection cap reached" warning
  runtime::acceptor acceptor;     // multishot accept on fd, armed at the first accept()
  runtime::cancel_source cancel;  // every pending accept is registered with its token
  bool closing = false;
  unsigned accepts_pending = 0;
  wait_list idle;                 // close() waiting for pending accepts to resume
};

listener::listener(listener&&) noexcept = default;

listener& listener::operator=(listener&& other) noexcept {
  if (this != &other) {
    listener old(std::move(*this));
    state_ = std::move(other.state_);
  }
  return *this;
}

listener::~listener() {
  if (!state_) return;
  assert(state_->accepts_pending == 0 && "listener destroyed while accept() is pending");
  if (state_->fd >= 0) ::close(state_->fd);
}

result<listener> listener::open(const endpoint& where, const listen_options& options) {
  const int fd = ::socket(where.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return io_error{-errno};
  auto fail = [fd]() {
    const int error = -errno;
    ::close(fd);
    return io_error{error};
  };
  int one = 1;
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) return fail();
  if (options.sharing == port_sharing::reuse_port &&
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    return fail();
  }
  if (::bind(fd, where.addr(), where.addr_len()) != 0) return fail();
  if (::listen(fd, options.backlog) != 0) return fail();
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) != 0) return fail();
  listener l;
  l.state_ = std::make_unique<state>(fd);
  l.state_->local = endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&bound), len);
  l.state_->limits = options.limits;
  l.state_->max_connections = options.max_connections;
  return l;
}

const endpoint& listener::local() const {
  assert(state_);
  return state_->local;
}

bool listener::is_open() const { return state_ && state_->fd >= 0 && !state_->closing; }

runtime::task<result<connection>> listener::accept() {
  assert(state_);
  state& s = *state_;
  if (s.closing) co_return io_error{-ECANCELED};
  ++s.accepts_pending;
  const int fd = co_await s.acceptor.accept(s.cancel.token());
  if (--s.accepts_pending == 0) s.idle.wake_all();
  if (fd < 0) co_return io_error{fd};
  if (s.closing) {  // accepted just as close() cancelled us: do not hand out a connection
    ::close(fd);
    co_return io_error{-ECANCELED};
  }
  co_return connection(fd, s.limits);
}

namespace {

constexpr auto refusal_log_interval = std::chrono::seconds(10);

// Closes a connection accepted past max_connections (its destructor closes the descriptor), and says so
// at most once per refusal_log_interval.
void refuse_over_cap(listener::state& s, connection accepted) {
  ++s.refused_over_cap;
  const auto now = runtime::clock::now();
  if (now - s.refusal_logged >= refusal_log_interval) {
    s.refusal_logged = now;
    log::warn("connection limit reached; closing new connections",
              {{"address", s.local.to_string()}, {"max-connections", uint64_t(s.max_connections)},
               {"refused-so-far", s.refused_over_cap}});
  }
  (void)accepted;
}

}  // namespace

uint64_t listener::refused_over_cap() const { return state_ ? state_->refused_over_cap : 0; }

runtime::task<int> listener::serve(connection_handler handler) {
  runtime::task_group handlers;
  int status = 0;
  for (;;) {
    result<connection> accepted = co_await accept();
    if (!accepted) {
      const int error = accepted.error();
      if (error == -ECANCELED) break;
      if (error == -EMFILE || error == -ENFILE || error == -ENOBUFS || error == -ENOMEM ||
          error == -ECONNABORTED || error == -EPERM) {
        co_await runtime::sleep_for(accept_retry_delay);  // transient: this one is lost, go on
        continue;
      }
      status = error;
      break;
    }
    if (handlers.running() >= state_->max_connections) {
      refuse_over_cap(*state_, std::move(accepted).value());
      continue;
    }
    handlers.spawn(handler(std::move(accepted).value()));
  }
  co_await handlers.wait();
  co_return status;
}

runtime::task<void> listener::close() {
  if (!state_ || state_->closing || state_->fd < 0) co_return;
  state& s = *state_;
  s.closing = true;
  s.cancel.cancel();
  while (s.accepts_pending > 0) co_await s.idle.wait();
  co_await s.acceptor.close();  // disarms the multishot request, closes connections nobody took
  const int fd = std::exchange(s.fd, -1);
  co_await io::close(fd);
}

}  // namespace ringkv::net
