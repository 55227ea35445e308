// client/grpc_connection.h - one HTTP/2 connection to an etcd v3 endpoint (real etcd or ringkv),
// carrying many concurrent gRPC calls (each a stream of the same session). Unary calls for KV / Lease /
// Maintenance / Cluster, and bidirectional streams for Watch and LeaseKeepAlive. Runs on one shard.
//
// Every call returns a client::status: OK, the server's grpc-status / grpc-message, UNAVAILABLE with the
// errno text when the connection failed (as grpc-go reports transport failures), DEADLINE_EXCEEDED when
// its deadline passed, CANCELLED when its cancel token fired (the HTTP/2 stream is reset in both cases).
// Nothing is retried here: client/client.h decides about failover; ringkv-bench counts every failure.
#pragma once

#include <google/protobuf/message_lite.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "client/endpoint.h"
#include "client/status.h"
#include "net/tls/tls_context.h"
#include "runtime/cancel.h"
#include "runtime/task.h"

namespace ringkv::client {

enum class rpc_method : uint8_t {
  range, put, txn, lease_grant, status, member_list, watch, lease_keepalive,
  delete_range, compact, lease_revoke, lease_time_to_live, authenticate,
};

// "/etcdserverpb.KV/Range", ...
const char* rpc_path(rpc_method method);

class grpc_stream;

class grpc_connection {
 public:
  // Per-connection limits: calls in flight at once (HTTP/2 streams we open), bytes of one message.
  static constexpr uint32_t concurrent_calls_limit = 1024;
  static constexpr uint32_t message_bytes_limit = 4 * 1024 * 1024;
  static constexpr size_t stream_inbox_bytes_limit = 16 * 1024 * 1024;  // received, not yet taken, per stream

  // Connects (TCP, a TLS handshake when `tls` is a dialing context, then the HTTP/2 preface and
  // settings). On failure returns nullptr and sets *error.
  static runtime::task<std::unique_ptr<grpc_connection>> connect(const endpoint& to, std::chrono::nanoseconds timeout,
                                                              std::string* error,
                                                              std::shared_ptr<const net::tls::tls_context> tls = nullptr);
  ~grpc_connection();
  grpc_connection(const grpc_connection&) = delete;
  grpc_connection& operator=(const grpc_connection&) = delete;

  // One unary call: serialises `request`, parses the reply into *response (may be null to ignore it).
  // It ends with DEADLINE_EXCEEDED once `timeout` passes (zero: no deadline) and with CANCELLED when
  // `cancel` fires first; either way its stream is reset. `sent` (optional) tells whether the request
  // left for the server (false: refused before sending, so retrying it elsewhere is safe). A non-empty
  // `token` goes along as the call's "token" metadata (etcd's auth token).
  runtime::task<status> call(rpc_method method, const google::protobuf::MessageLite& request,
                             google::protobuf::MessageLite* response, std::chrono::nanoseconds timeout = {},
                             runtime::cancel_token* cancel = nullptr, bool* sent = nullptr, std::string_view token = {});

  // Opens a bidirectional stream (watch, lease_keepalive).
  // Received messages wait in the stream's inbox until receive() takes them; past `inbox_bytes_limit`
  // (it may end one message over: an inbox under the limit takes a message of any size up to
  // message_bytes_limit)
  // the stream drops what else arrives and receive() ends it with RESOURCE_EXHAUSTED once the inbox
  // is drained (a too-slow reader costs its stream, never unbounded memory; watch_hub then resumes).
  // A non-empty `token` is sent as the stream's "token" metadata.
  runtime::task<std::unique_ptr<grpc_stream>> open_stream(rpc_method method,
                                                          size_t inbox_bytes_limit = stream_inbox_bytes_limit,
                                                          std::string_view token = {});

  // False once the connection failed or was closed (calls then fail at once with UNAVAILABLE).
  bool connected() const;

  // Ends every call (they finish with CANCELLED) and closes the connection.
  runtime::task<void> close();

  struct impl;

 private:
  explicit grpc_connection(std::shared_ptr<impl> state);
  std::shared_ptr<impl> impl_;  // shared with open streams, which may outlive this object
};

class grpc_stream {
 public:
  virtual ~grpc_stream() = default;
  virtual runtime::task<status> send(const google::protobuf::MessageLite& message) = 0;
  // Waits for the next message; a non-OK status when the stream ended.
  virtual runtime::task<status> receive(google::protobuf::MessageLite& message) = 0;
  // Half-closes our side and cancels the stream.
  virtual runtime::task<void> close() = 0;
  // True once the inbox overflowed (see open_stream): the stream, not the connection, failed.
  virtual bool overflowed() const = 0;
};

}  // namespace ringkv::client
