// server/frontend/http_routes.cc — see http_routes.h.
#include "server/frontend/http_routes.h"

#include "server/common/metrics.h"
#include "server/frontend/gateway_stream.h"
#include "server/frontend/http_endpoints.h"
#include "server/frontend/json_gateway.h"

namespace ringkv::server {
namespace {

// POST /v3/... : JSON -> protobuf -> the unary method -> protobuf -> JSON, as etcd's grpc-gateway.
runtime::task<net::grpc::http_reply> answer_gateway(const net::http1::request& request,
                                                    const http_routes_context& context) {
  net::grpc::http_reply reply;
  auto method = gateway_grpc_method(request.path);
  if (!method) {
    reply.status = 404;
    reply.body = R"({"error":"Not Found","code":5})";
    co_return reply;
  }
  json_conversion converted = json_to_request(*method, request.body);
  rpc_status status = converted.status;
  if (status.ok()) {
    // etcd's gateway hands the Authorization header to the server as the call's token.
    apply_result outcome =
        co_await context.unary(*method, std::move(converted.bytes), std::string(request.header("authorization")));
    status = outcome.status;
    if (status.ok()) {
      json_conversion json = response_to_json(*method, outcome.response);
      status = json.status;
      reply.body = std::move(json.bytes);
    }
  }
  if (!status.ok()) {
    reply.status = http_status_for(status.code);
    reply.body = error_json(status);
  }
  co_return reply;
}

runtime::task<net::grpc::http_reply> answer(const net::http1::request& request, const http_routes_context& context) {
  net::grpc::http_reply reply;
  if (auto stream_method = gateway_stream_method(request.path); stream_method && context.unary) {
    reply.stream = gateway_stream(*context.registry, std::move(*stream_method), request.body);
  } else if (request.path == "/health") {
    const bool healthy = context.healthy && context.healthy();
    reply.body = health_body(healthy);
    reply.status = healthy ? 200 : 503;
  } else if (request.path == "/version") {
    reply.body = version_body();
  } else if (request.path == "/metrics") {
    reply.body = metrics::global().render();
    reply.content_type = "text/plain; version=0.0.4; charset=utf-8";
  } else if (request.path.substr(0, 3) == "/v3" && context.unary) {
    reply = co_await answer_gateway(request, context);
  } else {
    reply.body = "404 page not found\n";
    reply.status = 404;
    reply.content_type = "text/plain; charset=utf-8";
  }
  co_return reply;
}

}  // namespace

net::grpc::http_handler make_http_routes(const http_routes_context& context) {
  return [&context](const net::http1::request& request) { return answer(request, context); };
}

}  // namespace ringkv::server
