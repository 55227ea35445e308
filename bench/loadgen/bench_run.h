// Runs one ringkv-bench invocation on the runtime: connects, drives the chosen workload, prints the
// summary (text like etcd's tool, or JSON). Returns the process exit code: 0 when the run completed
// (failed requests are reported, not fatal), 1 when it could not run (no connection, bad endpoint).
#pragma once

#include <ostream>

#include "bench/loadgen/options.h"
#include "runtime/task.h"

namespace ringkv::bench {

runtime::task<int> run_bench(const bench_options& options, std::ostream& out);

}  // namespace ringkv::bench
