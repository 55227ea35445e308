// Runs one accepted client-port connection on the runtime: detects the protocol from the first bytes,
// then drives a grpc_server_session (HTTP/2, gRPC) or answers HTTP/1.1 requests, until the peer leaves
// or misbehaves. Everything happens on the connection's shard.
//
//   reader coroutine                      session                 writer coroutine
//   fill() -> readable bytes ---------->  feed(): handlers run
//   consume(); wake writer ----------------------------------->  produce_output(); write(); repeat
//   (async replies: call->respond() -> notifier -> wake writer)
//
// One writer per connection produces and writes the session's output, so every frame that is ready
// leaves in one write and the output buffer never changes under a write in flight.
#pragma once

#include "net/grpc/grpc_server_session.h"
#include "net/grpc/http1.h"
#include "net/tcp/connection.h"
#include "runtime/task.h"

#include <chrono>
#include <functional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace ringkv::net::grpc {

struct http_reply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Answers one HTTP/1.1 request (views valid until the returned task finishes).
using http_handler = std::function<runtime::task<http_reply>(const http1::request& request)>;

struct client_port_config {
  server_limits grpc;
  http1::limits http;
  // The HTTP/2 preface and SETTINGS, or the first complete HTTP/1.1 request, must arrive within this.
  std::chrono::milliseconds preface_timeout{10'000};
  // Reading pauses while replies queued on streams exceed this (a client that does not read).
  size_t queued_reply_bytes_read_limit = 64 * 1024 * 1024;
};

// The connections one shard is serving, so shutdown can end them (see close_client_connections).
using live_connection_set = std::unordered_set<connection*>;

struct client_port_services {
  const service_registry* grpc = nullptr;  // required
  http_handler http;                       // optional: without it HTTP/1.1 requests get 404
  live_connection_set* live = nullptr;     // optional, this shard's: connections add themselves
};

runtime::task<void> serve_client_connection(connection conn, const client_port_services& services,
                                            const client_port_config& config);

// Closes every connection in `live` (their readers and writers end, open calls are cancelled) and
// returns once each one's serve_client_connection has finished. Run on the set's shard at shutdown.
runtime::task<void> close_client_connections(live_connection_set& live);

}  // namespace ringkv::net::grpc
