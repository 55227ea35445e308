// server/frontend/json_gateway.h — etcd's grpc-gateway on the client port: POST /v3/<service>/<method> with a
// JSON body (proto field names, int64 as strings, bytes as base64) maps onto the same gRPC method.
// This module only translates; the HTTP/1.1 handler calls the unary method and sends the JSON back.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/common/errors.h"

namespace ringkv::server {

// "/v3/kv/range" (also /v3beta/ as etcd 3.4 serves; /v3alpha/ is 404 there) -> "/etcdserverpb.KV/Range".
std::optional<std::string> gateway_grpc_method(std::string_view http_path);
// The streaming routes: "/v3/watch" -> "/etcdserverpb.Watch/Watch", "/v3/lease/keepalive",
// "/v3/maintenance/snapshot" (and their /v3beta/ forms). Answered as a chunked stream of JSON lines.
std::optional<std::string> gateway_stream_method(std::string_view http_path);

// A streaming request body holds one or more JSON values one after another ('{...} {...}'), each one
// request message, as etcd's gateway decodes them. Returns them in order; text that is not a
// complete value (unbalanced braces, an unterminated string) comes back as a last piece as is, so
// its parse reports the error.
std::vector<std::string_view> split_json_values(std::string_view body);

struct json_conversion {
  std::string bytes;  // protobuf (request) or JSON (response)
  rpc_status status;  // InvalidArgument when the JSON does not parse into the request type
};

json_conversion json_to_request(std::string_view grpc_method, std::string_view json);
json_conversion response_to_json(std::string_view grpc_method, std::string_view protobuf_bytes);
// {"error":"...","message":"...","code":3} as etcd's gateway answers a failed call.
std::string error_json(const rpc_status& status);
// One line of a gateway stream: {"result":<message as JSON>}\n (what grpc-gateway writes per message).
json_conversion stream_result_line(std::string_view grpc_method, std::string_view protobuf_bytes);
// The line a stream ends with when the call fails after the first message (grpc-gateway's stream
// error): {"error":{"grpc_code":14,"http_code":503,"message":"...","http_status":"Service Unavailable"}}\n
std::string stream_error_line(const rpc_status& status);
// HTTP status the gateway uses for a gRPC code (grpc-gateway's mapping: InvalidArgument -> 400, ...).
int http_status_for(grpc_code code);

}  // namespace ringkv::server
