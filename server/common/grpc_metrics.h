// server/common/grpc_metrics.h — go-grpc-prometheus' per-RPC counters, as etcd exports them:
//   grpc_server_started_total{grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"}
//   grpc_server_handled_total{grpc_code="OK",grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"}
// Fed by the gRPC sessions through net::grpc::call_observer: each call counts once, on the shard of the
// client's connection (relayed calls included, see net/grpc/service_registry.h). As go-grpc-prometheus'
// Register(server) does, every registered method's series exist from the start at 0 (handled: one per
// status code); calls to unknown methods are not counted (grpc-go refuses them before the interceptors).
#pragma once

#include <array>
#include <vector>

#include "net/grpc/service_registry.h"
#include "server/common/metrics.h"

namespace ringkv::server {

class grpc_call_metrics final : public net::grpc::call_observer {
 public:
  // Registers the series of every method of `registry` (whose method ids index them) in metrics::global().
  explicit grpc_call_metrics(const net::grpc::service_registry& registry);

  // Any shard, concurrently: relaxed atomic increments of counters resolved at construction.
  void on_call_started(const net::grpc::method_entry& method) override;
  void on_call_handled(const net::grpc::method_entry& method, net::grpc::status_code code) override;

 private:
  struct method_counters {
    metrics::counter* started = nullptr;
    std::array<metrics::counter*, net::grpc::status_code_max + 1> handled{};  // by status code
  };
  std::vector<method_counters> by_method_id_;  // immutable after construction
};

}  // namespace ringkv::server
