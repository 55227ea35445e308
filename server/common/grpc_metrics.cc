// server/common/grpc_metrics.cc — registration and counting of grpc_metrics.h's per-RPC counters.
#include "server/common/grpc_metrics.h"

#include <cassert>
#include <string_view>

#include "server/common/server_metrics.h"

namespace ringkv::server {

grpc_call_metrics::grpc_call_metrics(const net::grpc::service_registry& registry) {
  by_method_id_.resize(registry.method_count());
  registry.for_each_method([this](const net::grpc::method_entry& method) {
    const std::string_view service = net::grpc::service_registry::service_of(method.path);
    const std::string_view name = std::string_view(method.path).substr(service.size() + 2);  // "/svc/Name"
    const std::string_view type = net::grpc::call_type_name(method.type);
    assert(method.id < by_method_id_.size());
    method_counters& counters = by_method_id_[method.id];
    counters.started = &grpc_started(service, name, type);
    for (int code = 0; code <= net::grpc::status_code_max; ++code) {
      counters.handled[size_t(code)] =
          &grpc_handled(service, name, type, net::grpc::status_code_name(net::grpc::status_code(code)));
    }
  });
}

void grpc_call_metrics::on_call_started(const net::grpc::method_entry& method) {
  assert(method.id < by_method_id_.size() && "a method registered after the metrics were built");
  by_method_id_[method.id].started->inc();
}

void grpc_call_metrics::on_call_handled(const net::grpc::method_entry& method, net::grpc::status_code code) {
  assert(method.id < by_method_id_.size() && size_t(code) < by_method_id_[method.id].handled.size());
  by_method_id_[method.id].handled[size_t(code)]->inc();
}

}  // namespace ringkv::server
