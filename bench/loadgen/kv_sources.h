// request_sources for the KV and Lease request/response workloads: put, range, txn-put, txn-mixed,
// mixed, lease-keepalive. Each source belongs to one client and reuses its request messages.
#pragma once

#include <memory>
#include <string>

#include "client/grpc_connection.h"
#include "bench/loadgen/options.h"
#include "bench/loadgen/request_loop.h"

namespace ringkv::bench {

// Values shared by every client of a run (made once: random bytes as etcd's tool uses).
struct workload_data {
  std::string value;
};

// The source for client number `client_index` of the workload named in `options` (every
// request/response workload; not watch / watch-latency, which have their own drivers).
std::unique_ptr<request_source> make_request_source(const bench_options& options, const workload_data& data,
                                                    client::grpc_connection& client, uint32_t client_index);

// Counter names the sources report (also read by tests/bench).
inline constexpr const char* counter_writes = "writes";
inline constexpr const char* counter_txn_compare_failed = "txn compare failed";

}  // namespace ringkv::bench
