// server/frontend/http_routes.h — what the client port answers over HTTP/1.1, as one
// net::grpc::http_handler for the connection driver (net/grpc/client_connection.h), which parses the
// requests and writes the replies: GET /health, /version, /metrics, and etcd's JSON gateway — unary
// routes (POST /v3/kv/range, ...: JSON -> protobuf -> the gRPC method -> JSON) and the streaming
// routes (/v3/watch, /v3/lease/keepalive, /v3/maintenance/snapshot; see gateway_stream.h).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "net/grpc/client_connection.h"
#include "net/grpc/service_registry.h"
#include "runtime/task.h"
#include "server/common/errors.h"

namespace ringkv::server {

struct http_routes_context {
  std::function<bool()> healthy;  // for GET /health
  // The JSON gateway's unary routes: runs a unary gRPC method ("/etcdserverpb.KV/Range") on protobuf
  // bytes. Without it /v3/... is 404.
  // `token`: the request's Authorization header (the auth token), empty when absent.
  std::function<runtime::task<apply_result>(std::string_view grpc_method, std::string request, std::string token)> unary;
  // This shard's registry (the relay registry on shards other than the home one): the streaming
  // routes open their calls on it.
  const net::grpc::service_registry* registry = nullptr;
};

// The handler; `context` must outlive it and every reply it produces.
net::grpc::http_handler make_http_routes(const http_routes_context& context);

}  // namespace ringkv::server
