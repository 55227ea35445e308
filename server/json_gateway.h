// server/json_gateway.h — etcd's grpc-gateway on the client port: POST /v3/<service>/<method> with a
// JSON body (proto field names, int64 as strings, bytes as base64) maps onto the same gRPC method.
// This module only translates; the HTTP/1.1 handler calls the unary method and sends the JSON back.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "server/errors.h"

namespace ringkv::server {

// "/v3/kv/range" (also /v3beta/, /v3alpha/ as etcd 3.4 accepts) -> "/etcdserverpb.KV/Range".
std::optional<std::string> gateway_grpc_method(std::string_view http_path);

struct json_conversion {
  std::string bytes;  // protobuf (request) or JSON (response)
  rpc_status status;  // InvalidArgument when the JSON does not parse into the request type
};

json_conversion json_to_request(std::string_view grpc_method, std::string_view json);
json_conversion response_to_json(std::string_view grpc_method, std::string_view protobuf_bytes);
// {"error":"...","message":"...","code":3} as etcd's gateway answers a failed call.
std::string error_json(const rpc_status& status);
// HTTP status the gateway uses for a gRPC code (grpc-gateway's mapping: InvalidArgument -> 400, ...).
int http_status_for(grpc_code code);

}  // namespace ringkv::server
