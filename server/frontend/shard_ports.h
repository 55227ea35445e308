// server/frontend/shard_ports.h — the client port on every shard. Each shard opens its own listener on every
// client URL (SO_REUSEPORT when there are several shards: the kernel spreads connections over them)
// and serves what it accepts with net::grpc::serve_client_connection (the one connection driver: gRPC,
// and HTTP/1.1 answered by http_routes.h). The etcd_server (raft node, WAL, MVCC)
// lives on shard 0; connections on shard 0 call its registry directly, connections on other shards
// get a relay registry (net/grpc/call_relay.h) whose calls run their handlers on shard 0, and a JSON
// gateway `unary` that hops there with runtime::submit_to.
//
//   shard 0: etcd_server ── registry ── connections of shard 0
//        ^  batches of requests, stream messages, replies (one cross-shard message per turn and pair)
//        v
//   shard k: relay registry ── connections of shard k
//
// https:// URLs get the same driver with TLS underneath (client_tls.h): one TLS context for all
// shards, a handshake gate per shard. http and https URLs may be mixed, on different ports.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "net/grpc/service_registry.h"
#include "net/tls/reloading_context.h"
#include "runtime/task.h"
#include "server/common/config.h"
#include "server/api/etcd_server.h"

namespace ringkv::server {

class shard_ports {
 public:
  // `server` and `registry` live on shard 0 (the calling shard) and outlive this object.
  shard_ports(const server_config& config, etcd_server& server, const net::grpc::service_registry& registry);
  ~shard_ports();
  shard_ports(const shard_ports&) = delete;
  shard_ports& operator=(const shard_ports&) = delete;

  // Opens the listeners of every shard (shard 0 first: a port 0 URL gets one port for all shards).
  // False (logged) when one cannot be opened; close() then releases what was opened.
  runtime::task<bool> open();
  // Serves every shard's connections until close(), then ends them (close_client_connections) and
  // returns once every one has ended.
  runtime::task<void> serve();
  // Stops accepting on every shard and tells serve() to end the connections (it does not wait for
  // them: a connection may wait for a call that ends only once the server stops).
  runtime::task<void> close();
  // After close() and serve() returned: waits (bounded) until no relayed call is left on shard 0, so
  // the services their handlers use can go away, then frees every shard's listeners on their shard.
  // False if relayed calls were still alive at the deadline.
  runtime::task<bool> finish();

  // Connections open now on all shards (for the shutdown log).
  size_t open_connections() const;

 private:
  struct shard_state;  // one per shard, touched only on its shard
  runtime::task<void> serve_shard(shard_state& state);
  runtime::task<void> publish_health();

  const server_config& config_;
  etcd_server& server_;
  const net::grpc::service_registry& registry_;
  const unsigned shard_count_;
  std::vector<std::unique_ptr<shard_state>> shards_;
  net::tls::tls_material client_tls_;  // context set when a client URL is https
  std::atomic<bool> healthy_{false};  // shard 0's healthy(), refreshed every health_refresh_interval
  bool closing_ = false;
};

}  // namespace ringkv::server
