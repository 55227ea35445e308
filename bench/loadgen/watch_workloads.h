// The watch and watch-latency workloads.
//
// watch (etcd's flags): --streams Watch streams over the connections, each creating --watch-per-stream
// watches on --watched-key-total keys (creation latency is the first summary), then --put-total puts on
// those keys from --clients clients (at --put-rate/s, or as fast as they go). Every event is timed from
// its put being sent (the put's value carries the send time) to its arrival: the last summary is
// events/s and put->event latency. Events that never arrive are counted as DeadlineExceeded errors.
//
// watch-latency (etcd's flags): each of --clients clients watches one key on its own connection; one more
// connection puts --total times at --put-rate/s; latency per watcher event as above.
#pragma once

#include <vector>

#include "bench/loadgen/bench_result.h"
#include "bench/loadgen/connections.h"
#include "bench/loadgen/options.h"
#include "runtime/task.h"

namespace ringkv::bench {

// Results in print order: watch creation, puts, events (the last is the workload's headline).
runtime::task<std::vector<bench_result>> run_watch_workload(const bench_options& options, connection_set& connections);

}  // namespace ringkv::bench
