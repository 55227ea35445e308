// server/http_port.cc — see http_port.h.
#include "server/http_port.h"

#include "net/grpc/http1.h"
#include "server/http_endpoints.h"
#include "server/json_gateway.h"
#include "server/metrics.h"

namespace ringkv::server {
namespace {

std::string_view as_text(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
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


}  // namespace ringkv::server
