// server/frontend/http_port.cc — see http_port.h.
//
// Streaming gateway endpoints (/v3/watch, /v3/lease/keepalive, /v3/maintenance/snapshot) work like
// etcd's own grpc-gateway: the request opens a gRPC call on an internal HTTP/2 connection to this
// server's client port (the address the HTTP client reached), and every response message goes back
// to the HTTP client as one chunk line {"result":{...}}. Four coroutines run side by side:
//
//   grpc_reader: internal socket -> client session -> on_message: JSON line queued
//   grpc_writer: client session output -> internal socket (requests, window updates)
//   http_out:    queued lines -> one chunk per turn -> HTTP client; at the call's end the last chunk
//   http_watch:  reads the HTTP client's socket only to learn that it went away
//
// Whoever learns first that it is over (the call ended, the HTTP client closed, server shutdown closed
// either socket) shuts both sockets down, which ends every loop; closing the internal connection
// cancels the server-side call, so no watcher or stream outlives its HTTP client.
#include "server/frontend/http_port.h"

#include <sys/socket.h>

#include <deque>

#include "net/grpc/grpc_client_session.h"
#include "net/grpc/http1.h"
#include "net/tcp/connect.h"
#include "net/tcp/endpoint.h"
#include "runtime/when_all.h"
#include "server/frontend/http_endpoints.h"
#include "server/frontend/json_gateway.h"
#include "server/common/metrics.h"
#include "server/common/wakeup.h"

namespace ringkv::server {
namespace {

constexpr size_t stream_queued_line_bytes_limit = 8 << 20;  // JSON lines waiting for a slow HTTP client
constexpr auto internal_connect_timeout = std::chrono::seconds(5);

std::string_view as_text(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}
std::span<const std::byte> as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}

// A complete gateway error response (etcd's JSON error body), after which the connection closes.
void append_error_response(std::string& out, const rpc_status& status) {
  std::string body = error_json(status);
  net::http1::response response;
  response.status = http_status_for(status.code);
  response.body = body;
  net::http1::write_response(out, response, false);
}

struct stream_relay {
  stream_relay(net::connection& http_conn, net::connection internal, std::string method)
      : http(http_conn), grpc(std::move(internal)), grpc_method(std::move(method)) {}

  net::connection& http;
  net::connection grpc;
  std::string grpc_method;
  std::unique_ptr<net::grpc::grpc_client_session> session;
  net::grpc::client_call_id call = -1;
  wakeup grpc_output_ready;
  wakeup lines_ready;
  wakeup room_for_lines;
  std::deque<std::string> lines;
  size_t queued_line_bytes = 0;
  bool call_done = false;
  rpc_status call_status;
  bool headers_sent = false;
  bool over = false;  // set once: every loop winds down

  void end() {
    if (over) return;
    over = true;
    ::shutdown(grpc.fd(), SHUT_RDWR);
    ::shutdown(http.fd(), SHUT_RDWR);
    grpc_output_ready.notify();
    lines_ready.notify();
    room_for_lines.notify();
  }

  void queue_line(std::string line) {
    queued_line_bytes += line.size();
    lines.push_back(std::move(line));
    lines_ready.notify();
  }

  void start_call(const std::vector<std::string>& requests) {
    net::grpc::grpc_client_session::call_callbacks callbacks;
    callbacks.on_message = [this](std::string_view message) {
      json_conversion line = stream_result_line(grpc_method, message);
      if (line.status.ok()) queue_line(std::move(line.bytes));
    };
    callbacks.on_done = [this](const net::grpc::status& result) {
      call_done = true;
      call_status = {grpc_code(int(result.code)), result.message};
      lines_ready.notify();
    };
    call = session->start_call(grpc_method, std::move(callbacks));
    if (call < 0) {
      call_done = true;
      call_status = {grpc_code::unavailable, "ringkv: the gateway could not open the stream"};
      return;
    }
    for (const auto& request : requests) session->write(call, request);
    session->close_send(call);  // the body is all the client sends, as etcd's gateway (CloseSend at EOF)
  }

  runtime::task<void> grpc_reader() {
    while (!over) {
      if (queued_line_bytes > stream_queued_line_bytes_limit) {  // the HTTP client reads slowly
        co_await room_for_lines;
        continue;
      }
      int filled = co_await grpc.fill(1);
      if (over) break;
      if (filled <= 0) {
        if (!call_done) {
          call_done = true;
          call_status = {grpc_code::unavailable, "ringkv: the server is shutting down"};
        }
        lines_ready.notify();
        break;
      }
      auto bytes = grpc.readable();
      auto verdict = session->feed({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
      grpc.consume(bytes.size());
      grpc_output_ready.notify();
      if (verdict == net::grpc::session_verdict::closed) break;
    }
  }

  runtime::task<void> grpc_writer() {
    while (!over) {
      session->produce_output();
      while (!over && session->has_output()) {
        auto out = session->pending_output();
        int written = co_await grpc.write({reinterpret_cast<const std::byte*>(out.data()), out.size()});
        if (over || written < 0) break;
        session->consume_output(size_t(written));
        session->produce_output();
      }
      if (over) break;
      co_await grpc_output_ready;
    }
  }

  // Writes queued lines as chunks; at the call's end the closing chunk (or, when nothing was sent
  // yet, a plain error response), then ends the relay.
  runtime::task<void> http_out() {
    while (!over) {
      co_await lines_ready;
      if (over) break;
      std::string out;
      if (!headers_sent && (!lines.empty() || call_status.ok())) {
        out = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nGrpc-Metadata-Content-Type: "
              "application/grpc\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
        headers_sent = true;
      }
      std::string chunk;
      while (!lines.empty()) {
        chunk += lines.front();
        queued_line_bytes -= lines.front().size();
        lines.pop_front();
      }
      room_for_lines.notify();
      if (call_done && !call_status.ok()) {
        if (headers_sent) {
          chunk += stream_error_line(call_status);
        } else {
          append_error_response(out, call_status);
        }
      }
      if (!chunk.empty()) {
        char size[24];
        out.append(size, size_t(std::snprintf(size, sizeof size, "%zx\r\n", chunk.size())));
        out += chunk;
        out += "\r\n";
      }
      if (call_done && headers_sent) out += "0\r\n\r\n";
      if (!out.empty()) {
        int written = co_await http.write(as_bytes(out));
        if (written < 0) break;
      }
      if (call_done) break;
    }
    end();
  }

  // The client sends nothing more after its request: a read that ends means it went away.
  runtime::task<void> http_watch() {
    while (!over) {
      int filled = co_await http.fill(http.readable().size() + 1);
      if (filled <= 0) break;
    }
    end();
  }
};

// POST /v3/watch and the other streaming routes. Always ends the HTTP connection afterwards.
runtime::task<void> answer_gateway_stream(net::connection& conn, const net::http1::request& request,
                                          std::string grpc_method) {
  std::vector<std::string> requests;
  rpc_status status;
  for (std::string_view value : split_json_values(request.body)) {
    json_conversion converted = json_to_request(grpc_method, value);
    if (!converted.status.ok()) {
      status = {grpc_code::unknown, converted.status.message};  // as etcd's gateway answers (500, code 2)
      break;
    }
    requests.push_back(std::move(converted.bytes));
  }
  if (status.ok() && requests.empty()) requests.emplace_back();  // an empty body is an empty request
  std::optional<net::connection> internal;
  if (status.ok()) {
    sockaddr_storage local{};
    socklen_t local_len = sizeof local;
    if (::getsockname(conn.fd(), reinterpret_cast<sockaddr*>(&local), &local_len) != 0) {
      status = {grpc_code::unavailable, "ringkv: getsockname failed"};
    } else {
      auto to = net::endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&local), local_len);
      auto connected = co_await net::connect(to, internal_connect_timeout);
      if (connected) internal.emplace(std::move(connected.value()));
      else status = {grpc_code::unavailable, "ringkv: gateway connection: " + connected.error_message()};
    }
  }
  if (!status.ok()) {
    std::string out;
    append_error_response(out, status);
    co_await conn.write(as_bytes(out));
    co_return;
  }
  stream_relay relay(conn, std::move(*internal), std::move(grpc_method));
  relay.session = std::make_unique<net::grpc::grpc_client_session>();
  relay.session->set_output_ready_notifier([](void* self) { static_cast<wakeup*>(self)->notify(); },
                                           &relay.grpc_output_ready);
  relay.start_call(requests);
  relay.lines_ready.notify();  // a call refused at once is answered right away
  co_await runtime::when_all(relay.grpc_reader(), relay.grpc_writer(), relay.http_out(), relay.http_watch());
  relay.session.reset();  // ends an unfinished call (its callbacks only touch the relay, still alive)
  co_await relay.grpc.close();
}

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

}  // namespace

runtime::task<void> serve_http1(net::connection& conn, const client_port_context& context) {
  net::http1::limits limits;
  std::string pending;  // bytes of an incomplete request
  bool continue_sent = false;  // "100 Continue" already sent for the request being received
  while (true) {
    auto bytes = conn.readable();
    pending.append(as_text(bytes));
    conn.consume(bytes.size());
    net::http1::request request;
    auto parsed = net::http1::parse_request(pending, limits, request);
    if (parsed.state == net::http1::parse_status::incomplete) {
      if (parsed.expects_continue && !continue_sent) {  // curl asks before bodies over 1 KiB
        continue_sent = true;
        if (co_await conn.write(as_bytes(net::http1::continue_response)) < 0) co_return;
      }
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
    if (auto stream_method = gateway_stream_method(request.path); stream_method && context.unary) {
      co_await answer_gateway_stream(conn, request, std::move(*stream_method));
      co_return;  // a stream ends its connection (the client learns the end from the last chunk)
    }
    continue_sent = false;
    bool keep_alive = request.keep_alive;
    co_await answer_http(request, context, out);
    pending.erase(0, parsed.consumed_bytes);
    if (co_await conn.write({reinterpret_cast<const std::byte*>(out.data()), out.size()}) < 0 || !keep_alive)
      co_return;
  }
}

}  // namespace ringkv::server
