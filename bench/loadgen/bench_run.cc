// The run driver: connections -> per-client request sources -> request loops -> summary.
#include "bench/loadgen/bench_run.h"

#include <iostream>
#include <memory>
#include <vector>

#include "bench/loadgen/connections.h"
#include "bench/loadgen/cpu_clock.h"
#include "bench/loadgen/key_gen.h"
#include "bench/loadgen/kv_sources.h"
#include "bench/loadgen/request_loop.h"
#include "bench/loadgen/watch_workloads.h"
#include "runtime/when_all.h"

namespace ringkv::bench {
namespace {

struct client_slot {
  std::unique_ptr<request_source> source;
  bench_result stats;
};

runtime::task<int> prepare_one(client_slot& slot) {
  rpc_status status = co_await slot.source->prepare();
  if (!status.ok()) slot.stats.record_error(status.code, status.message);
  co_return status.ok() ? 0 : 1;
}

runtime::task<int> loop_one(run_plan& plan, client_slot& slot) {
  co_await request_loop(plan, *slot.source, slot.stats);
  co_await slot.source->finish();
  co_return 0;
}

void print_result(std::ostream& out, const bench_options& options, bench_result& result, bool last) {
  result.latencies.finalize();
  if (options.json) {
    print_json(out, result);
    if (!last) out << ",";
  } else {
    print_summary(out, result, print_style{.precise = options.precise});
  }
}

// put, range, txn-put, txn-mixed, mixed, lease-keepalive.
runtime::task<int> run_request_workload(const bench_options& options, connection_set& connections,
                                        std::ostream& out) {
  workload_data data{random_bytes(options.val_size, 0xda7a)};
  std::vector<client_slot> slots(options.clients);
  for (uint32_t i = 0; i < options.clients; ++i) {
    etcd_client& client = *connections.clients[i % connections.clients.size()];
    slots[i].source = make_request_source(options, data, client, i);
  }
  std::vector<runtime::task<int>> preparing;
  for (auto& slot : slots) preparing.push_back(prepare_one(slot));
  int prepare_failures = 0;
  const std::vector<int> prepared = co_await runtime::when_all(std::move(preparing));
  for (int failed : prepared) prepare_failures += failed;

  run_plan plan(options.total, options.duration, options.rate_per_s);
  bench_result total;
  total.workload = workload_name(options.workload);
  if (prepare_failures == 0) {
    const auto cpu_before = process_cpu_time();
    const auto started = bench_clock::now();
    {
      progress_line progress(plan.progress, plan.expected_total(), !options.json && progress_line::stderr_is_terminal());
      plan.start(started);
      std::vector<runtime::task<int>> loops;
      for (auto& slot : slots) loops.push_back(loop_one(plan, slot));
      co_await runtime::when_all(std::move(loops));
    }
    total.elapsed = bench_clock::now() - started;
    total.client_cpu = process_cpu_time() - cpu_before;
  } else {
    for (auto& slot : slots) co_await slot.source->finish();
  }
  for (auto& slot : slots) {
    slot.source->add_counters(slot.stats);
    total.merge(slot.stats);
  }
  if (options.json) out << "{\"results\":[";
  print_result(out, options, total, true);
  if (options.json) out << "]}\n";
  co_return prepare_failures == 0 ? 0 : 1;
}

}  // namespace

runtime::task<int> run_bench(const bench_options& options, std::ostream& out) {
  if (options.consistency == read_consistency::linearizable && options.workload == workload_kind::range && !options.json) {
    out << "bench with linearizable range\n";
  } else if (options.workload == workload_kind::range && !options.json) {
    out << "bench with serializable range\n";
  }
  const bool watching = options.workload == workload_kind::watch || options.workload == workload_kind::watch_latency;
  // watch-latency: one connection per watching client plus one for the puts (as etcd's tool).
  const uint32_t connection_count = options.workload == workload_kind::watch_latency ? options.clients + 1 : options.conns;
  connection_set connections = co_await open_connections(options, connection_count);
  int exit_code = 1;
  if (!connections.error.empty()) {
    std::cerr << "ringkv-bench: " << connections.error << "\n";
  } else if (watching) {
    std::vector<bench_result> results = co_await run_watch_workload(options, connections);
    if (options.json) out << "{\"results\":[";
    for (size_t i = 0; i < results.size(); ++i) print_result(out, options, results[i], i + 1 == results.size());
    if (options.json) out << "]}\n";
    exit_code = results.empty() ? 1 : 0;
  } else {
    exit_code = co_await run_request_workload(options, connections, out);
  }
  co_await close_connections(connections);
  out.flush();
  co_return exit_code;
}

}  // namespace ringkv::bench
