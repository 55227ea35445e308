// server/frontend/client_port.cc — see client_port.h.
#include "server/frontend/client_port.h"

#include <sys/socket.h>

#include "net/grpc/protocol_detect.h"
#include "runtime/when_all.h"
#include "server/frontend/http_port.h"
#include "server/common/log.h"
#include "server/common/server_metrics.h"
#include "server/common/wakeup.h"

namespace ringkv::server {
namespace {

std::string_view as_text(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

struct h2_driver {
  net::connection& conn;
  net::grpc::grpc_server_session session;
  wakeup output_ready;
  bool reading_done = false;

  runtime::task<void> read_loop() {
    session.set_output_ready_notifier([](void* self) { static_cast<wakeup*>(self)->notify(); }, &output_ready);
    while (true) {
      if (conn.readable().empty()) {
        int n = co_await conn.fill(1);
        if (n <= 0) break;
      }
      auto bytes = conn.readable();
      node_metrics().grpc_received_bytes.inc(bytes.size());
      auto verdict = session.feed({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
      conn.consume(bytes.size());
      output_ready.notify();
      if (verdict != net::grpc::session_verdict::open) break;
    }
    reading_done = true;
    output_ready.notify();
  }

  runtime::task<void> write_loop() {
    while (true) {
      co_await output_ready;
      auto verdict = session.produce_output();
      bool wrote = false;
      while (session.has_output()) {
        auto out = session.pending_output();
        int n = co_await conn.write({reinterpret_cast<const std::byte*>(out.data()), out.size()});
        if (n < 0) {
          ::shutdown(conn.fd(), SHUT_RDWR);  // wakes the reader: the connection is finished
          co_return;
        }
        node_metrics().grpc_sent_bytes.inc(out.size());
        session.consume_output(out.size());
        wrote = true;
      }
      if (verdict != net::grpc::session_verdict::open || reading_done) {
        ::shutdown(conn.fd(), SHUT_RDWR);
        co_return;
      }
      // produce_output() stops at output_batch_bytes_limit: frames still ready go out in the next round
      // (nobody else would notify: no new output is queued). Only after progress, so it never spins.
      if (wrote && session.wants_write()) output_ready.notify();
    }
  }
};

}  // namespace

runtime::task<void> serve_client_connection(net::connection conn, const client_port_context& context) {
  int fd = conn.fd();
  if (context.live_sockets) context.live_sockets->insert(fd);
  if (context.open_connections) context.open_connections->add(1);
  net::wire_protocol protocol = net::wire_protocol::undecided;
  while (protocol == net::wire_protocol::undecided) {
    int n = co_await conn.fill(conn.readable().size() + 1);
    if (n <= 0) break;
    protocol = net::detect_protocol(as_text(conn.readable()));
  }
  if (protocol == net::wire_protocol::http2) {
    h2_driver driver{conn, net::grpc::grpc_server_session(*context.registry, context.grpc_limits), {}, false};
    co_await runtime::when_all(driver.read_loop(), driver.write_loop());
  } else if (protocol == net::wire_protocol::http1) {
    co_await serve_http1(conn, context);
  }
  if (context.live_sockets) context.live_sockets->erase(fd);
  if (context.open_connections) context.open_connections->add(-1);
  co_await conn.close();
}

}  // namespace ringkv::server
