// bench/loadgen/grpc_status.h — the load generator's names for gRPC status codes: net/grpc's enum
// (the errors table of the summary is keyed by it). A transport failure with no status (connection
// reset, timeout before any response) is reported as UNAVAILABLE, as grpc-go clients do.
#pragma once

#include "net/grpc/grpc_status.h"

namespace ringkv::bench {

using grpc_code = net::grpc::status_code;
using net::grpc::status_code_name;

}  // namespace ringkv::bench
