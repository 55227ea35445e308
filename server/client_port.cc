// server/client_port.cc — see client_port.h.
#include "server/client_port.h"

#include <sys/socket.h>

#include "net/grpc/http1.h"
#include "net/grpc/protocol_detect.h"
#include "runtime/when_all.h"
#include "server/http_endpoints.h"
#include "server/json_gateway.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/server_metrics.h"
#include "server/wakeup.h"

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
      while (session.has_output()) {
        auto out = session.pending_output();
        int n = co_await conn.write({reinterpret_cast<const std::byte*>(out.data()), out.size()});
        if (n < 0) {
          ::shutdown(conn.fd(), SHUT_RDWR);  // wakes the reader: the connection is finished
          co_return;
        }
        node_metrics().grpc_sent_bytes.inc(out.size());
        session.consume_output(out.size());
      }
      if (verdict != net::grpc::session_verdict::open || reading_done) {
        ::shutdown(conn.fd(), SHUT_RDWR);
        co_return;
      }
    }
  }
};

// POST /v3/... : JSON -> protobuf -> the unary method -> protobuf -> JSON, as etcd's grpc-gateway.
runtime::task<void> answer_gateway(const net::http1::request& request, const client_port_context& context,
                                   net::http1::response& response, std::string& body) {
  auto method = gateway_grpc_method(request.path);
  if (!method) {
    response.status = 404;
    body = R"({"error":"Not Found","code":5})";
    co_return;
  }
  json_conversion converted = json_to_request(*method, request.body);
  rpc_status status = converted.status;
  if (status.ok()) {
    apply_result outcome = co_await context.unary(*method, std::move(converted.bytes));
    status = outcome.status;
    if (status.ok()) {
      json_conversion json = response_to_json(*method, outcome.response);
      status = json.status;
      body = std::move(json.bytes);
    }
  }
  if (!status.ok()) {
    response.status = http_status_for(status.code);
    body = error_json(status);
  }
}

runtime::task<void> answer_http(const net::http1::request& request, const client_port_context& context,
                                std::string& out) {
  net::http1::response response;
  std::string body;
  if (request.path == "/health") {
    bool healthy = context.healthy && context.healthy();
    body = health_body(healthy);
    response.status = healthy ? 200 : 503;
  } else if (request.path == "/version") {
    body = version_body();
  } else if (request.path == "/metrics") {
    body = metrics::global().render();
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  } else if (request.path.substr(0, 3) == "/v3" && context.unary) {
    co_await answer_gateway(request, context, response, body);
  } else {
    body = "404 page not found\n";
    response.status = 404;
    response.content_type = "text/plain; charset=utf-8";
  }
  response.body = body;
  net::http1::write_response(out, response, request.keep_alive);
}

runtime::task<void> serve_http1(net::connection& conn, const client_port_context& context) {
  net::http1::limits limits;
  std::string pending;  // bytes of an incomplete request
  while (true) {
    auto bytes = conn.readable();
    pending.append(as_text(bytes));
    conn.consume(bytes.size());
    net::http1::request request;
    auto parsed = net::http1::parse_request(pending, limits, request);
    if (parsed.state == net::http1::parse_status::incomplete) {
      if (co_await conn.fill(1) <= 0) co_return;
      continue;
    }
    std::string out;
    if (parsed.state == net::http1::parse_status::error) {
      net::http1::response response;
      response.status = parsed.error_http_status;
      response.content_type = "text/plain; charset=utf-8";
      response.body = parsed.error;
      net::http1::write_response(out, response, false);
      co_await conn.write({reinterpret_cast<const std::byte*>(out.data()), out.size()});
      co_return;
    }
    bool keep_alive = request.keep_alive;
    co_await answer_http(request, context, out);
    pending.erase(0, parsed.consumed_bytes);
    if (co_await conn.write({reinterpret_cast<const std::byte*>(out.data()), out.size()}) < 0 || !keep_alive)
      co_return;
  }
}

}  // namespace

runtime::task<void> serve_client_connection(net::connection conn, const client_port_context& context) {
  int fd = conn.fd();
  if (context.live_sockets) context.live_sockets->insert(fd);
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
  co_await conn.close();
}

}  // namespace ringkv::server
