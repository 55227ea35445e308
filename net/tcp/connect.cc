// Outgoing connections with a deadline: see connect.h.
#include "net/tcp/connect.h"

#include <sys/socket.h>
#include <unistd.h>

#include "runtime/io.h"
#include "runtime/timer.h"

namespace ringkv::net {

runtime::task<result<connection>> connect(endpoint to, std::chrono::nanoseconds timeout,
                                          connection_limits limits) {
  const int fd = ::socket(to.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) co_return io_error{-errno};
  const int rc = co_await runtime::with_timeout(timeout, [&](runtime::cancel_token* token) {
    return runtime::io::connect(fd, to.addr(), to.addr_len(), token);
  });
  if (rc < 0) {
    ::close(fd);
    co_return io_error{rc};
  }
  co_return connection(fd, limits);
}

}  // namespace ringkv::net
