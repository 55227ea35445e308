// server/frontend/client_port.h — serves one client-port connection: sniffs the first bytes (HTTP/2 preface ->
// gRPC session; an HTTP/1.x request line -> /health, /version, /metrics), then drives the protocol with
// a reader (socket -> session.feed) and a writer (session output -> socket) running side by side.
#pragma once

#include <functional>
#include <string>
#include <unordered_set>

#include "net/grpc/grpc_server_session.h"
#include "net/tcp/connection.h"
#include "runtime/task.h"
#include "server/common/metrics.h"
#include "server/replica/raft_driver.h"

namespace ringkv::server {

struct client_port_context {
  const net::grpc::service_registry* registry = nullptr;
  net::grpc::server_limits grpc_limits;
  std::function<bool()> healthy;  // for GET /health
  // The JSON gateway: runs a unary gRPC method ("/etcdserverpb.KV/Range") on protobuf bytes.
  std::function<runtime::task<apply_result>(std::string_view grpc_method, std::string request)> unary;
  // Sockets of the connections being served, so that shutdown can end them (shutdown(2) wakes
  // their readers; each connection then winds down and closes itself).
  std::unordered_set<int>* live_sockets = nullptr;
  // ringkv_client_connections{shard="N"} of the shard serving these connections.
  metrics::gauge* open_connections = nullptr;
};

runtime::task<void> serve_client_connection(net::connection conn, const client_port_context& context);

}  // namespace ringkv::server
