// Opening the run's connections: --conns connections over the endpoints round-robin, or all to the
// leader with --target-leader (found as etcd's tool does: Status.leader of the first endpoint that
// answers, matched against MemberList's client URLs).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "client/grpc_connection.h"
#include "bench/loadgen/options.h"
#include "runtime/task.h"

namespace ringkv::bench {

struct connection_set {
  std::vector<std::unique_ptr<client::grpc_connection>> clients;
  std::string error;  // set when opening failed (clients then holds what did open, to be closed)
};

// The dialing TLS context for --cacert/--cert/--key or https endpoints (ALPN h2), null without TLS or
// with *error set when a file does not load.
std::shared_ptr<const net::tls::tls_context> make_client_tls(const bench_options& options, std::string* error);

runtime::task<connection_set> open_connections(const bench_options& options, uint32_t count);
runtime::task<void> close_connections(connection_set& set);

}  // namespace ringkv::bench
