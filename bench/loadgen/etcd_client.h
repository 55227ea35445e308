// etcd_client: one HTTP/2 connection to an etcd v3 endpoint (real etcd or ringkv), carrying many
// concurrent gRPC calls (each a stream of the same session). Unary calls for KV / Lease / Maintenance /
// Cluster, and bidirectional streams for Watch and LeaseKeepAlive. Runs on one runtime shard.
//
// Every call returns an rpc_status: OK, the server's grpc-status / grpc-message, or UNAVAILABLE with the
// errno text when the connection failed (as grpc-go reports transport failures). Nothing is retried:
// the load generator counts every failure.
#pragma once

#include <google/protobuf/message_lite.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "bench/loadgen/grpc_status.h"
#include "bench/loadgen/options.h"
#include "net/tls/tls_context.h"
#include "runtime/task.h"

namespace ringkv::bench {

struct rpc_status {
  grpc_code code = grpc_code::ok;
  std::string message;
  bool ok() const { return code == grpc_code::ok; }
};

enum class rpc_method : uint8_t {
  range, put, txn, lease_grant, status, member_list, watch, lease_keepalive,
};

// "/etcdserverpb.KV/Range", ...
const char* rpc_path(rpc_method method);

class etcd_stream;

class etcd_client {
 public:
  // Per-connection limits: calls in flight at once (HTTP/2 streams we open), bytes of one message.
  static constexpr uint32_t concurrent_calls_limit = 1024;
  static constexpr uint32_t message_bytes_limit = 4 * 1024 * 1024;

  // Connects (TCP, a TLS handshake when `tls` is a dialing context, then the HTTP/2 preface and
  // settings). On failure returns nullptr and sets *error.
  static runtime::task<std::unique_ptr<etcd_client>> connect(const endpoint& to, std::chrono::nanoseconds timeout,
                                                              std::string* error,
                                                              std::shared_ptr<const net::tls::tls_context> tls = nullptr);
  ~etcd_client();
  etcd_client(const etcd_client&) = delete;
  etcd_client& operator=(const etcd_client&) = delete;

  // One unary call: serialises `request`, parses the reply into *response (may be null to ignore it).
  runtime::task<rpc_status> call(rpc_method method, const google::protobuf::MessageLite& request,
                                 google::protobuf::MessageLite* response);

  // Opens a bidirectional stream (watch, lease_keepalive).
  runtime::task<std::unique_ptr<etcd_stream>> open_stream(rpc_method method);

  // False once the connection failed or was closed (calls then fail at once with UNAVAILABLE).
  bool connected() const;

  // Ends every call (they finish with CANCELLED) and closes the connection.
  runtime::task<void> close();

  struct impl;

 private:
  explicit etcd_client(std::unique_ptr<impl> state);
  std::unique_ptr<impl> impl_;
};

class etcd_stream {
 public:
  virtual ~etcd_stream() = default;
  virtual runtime::task<rpc_status> send(const google::protobuf::MessageLite& message) = 0;
  // Waits for the next message; a non-OK status when the stream ended.
  virtual runtime::task<rpc_status> receive(google::protobuf::MessageLite& message) = 0;
  // Half-closes our side and cancels the stream.
  virtual runtime::task<void> close() = 0;
};

}  // namespace ringkv::bench
