// server/frontend/gateway_stream.h — the JSON gateway's streaming routes (POST /v3/watch,
// /v3/lease/keepalive, /v3/maintenance/snapshot), as etcd's grpc-gateway answers them: every JSON
// value of the body is one request message on a gRPC call, the body's end half-closes it, and every
// response message goes back as one line {"result":{...}} of a chunked reply; a call that fails ends
// with an error line {"error":{...}}. The call is a net::grpc::local_call on this shard's registry
// (the relay registry on shards other than the home one): no connection to the server's own port.
//
//   HTTP client              producer (gateway_stream)                 local_call -> handler
//   POST body -------------> JSON values -> protobuf -> send() x N, half_close()
//                   <------  head (200, chunked, Connection: close)
//                   <------  chunk: lines of up to stream_queued_line_bytes_limit  <- front()/pop()
//   leaves (EOF) ----------> gone callback: cancel() -------------------------> on_cancel
//                   <------  at the call's end: [error line], last chunk; the connection closes
//
// Backpressure: messages stay in the call's queue (counted by queued_output_bytes(), so a watcher
// pauses) until they are converted for the next write, and a write returns only once the connection's
// bounded send buffer took it: a slow HTTP client stops a watcher as a slow gRPC client does.
// A body that is not JSON is answered with etcd's JSON error (500, code 2) before any call is opened.
#pragma once

#include <string>
#include <string_view>

#include "net/grpc/client_connection.h"
#include "net/grpc/service_registry.h"

namespace ringkv::server {

// JSON lines converted for one write to the HTTP client; the rest waits in the call's queue.
inline constexpr size_t stream_queued_line_bytes_limit = 8 << 20;

// The streaming reply for `grpc_method` ("/etcdserverpb.Watch/Watch") with the request `body` (parsed
// now; the producer owns what it needs). `registry` must outlive the producer.
net::grpc::http_stream_producer gateway_stream(const net::grpc::service_registry& registry,
                                               std::string grpc_method, std::string_view body);

}  // namespace ringkv::server
