// listener: a listening TCP socket on one shard. With port_sharing::reuse_port every shard can open
// its own listener on the same address (SO_REUSEPORT): the kernel then spreads incoming connections
// over the shards and no connection ever crosses a shard. accept() hands out connections on this shard;
// underneath, one multishot accept request (runtime::acceptor) stays armed in the kernel, so a burst of
// connections costs no SQE each. serve() is the accept loop: one handler coroutine per connection, all
// awaited before it returns. co_await close() before destroying a listener that has accepted.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "net/tcp/connection.h"
#include "net/tcp/endpoint.h"
#include "net/tcp/result.h"
#include "runtime/task.h"

namespace ringkv::net {

enum class port_sharing { exclusive, reuse_port };

struct listen_options {
  port_sharing sharing = port_sharing::exclusive;
  int backlog = 1024;               // pending connections the kernel queues before refusing SYNs
  connection_limits limits;         // given to every accepted connection
  // serve(): handlers running at once. A connection accepted beyond it is closed at once (the client
  // sees the connection reset) instead of taking a descriptor the member needs for its WAL and peers.
  size_t max_connections = SIZE_MAX;
};

class listener {
 public:
  listener() = default;
  listener(listener&&) noexcept;
  listener& operator=(listener&&) noexcept;
  ~listener();  // closes the socket synchronously if close() was not awaited

  // Creates, binds and listens (synchronous system calls: done once at start-up).
  // Port 0 picks a free port; local() tells which.
  static result<listener> open(const endpoint& where, const listen_options& options = {});

  const endpoint& local() const;
  bool is_open() const;

  // The next incoming connection, or -ECANCELED once close() was called, or -errno. Several
  // coroutines may wait at once; they are served in arrival order.
  runtime::task<result<connection>> accept();

  // Accepts until the listener is closed (or accepting fails), runs `handler` for each connection as
  // its own coroutine, then waits for every handler to finish. Returns 0 after close(), else -errno.
  using connection_handler = std::function<runtime::task<void>(connection)>;
  runtime::task<int> serve(connection_handler handler);
  // Connections serve() closed at once because max_connections were being served (this listener).
  uint64_t refused_over_cap() const;
  // Pause after a transient accept failure (out of descriptors or memory) before trying again.
  static constexpr std::chrono::milliseconds accept_retry_delay{10};

  // Cancels pending accepts, waits for them to resume, disarms the multishot accept, closes the
  // socket. Idempotent.
  runtime::task<void> close();

  struct state;  // defined in listener.cc

 private:
  std::unique_ptr<state> state_;
};

}  // namespace ringkv::net
