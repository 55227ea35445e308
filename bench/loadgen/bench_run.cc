// The run driver: connections -> per-client request sources -> request loops -> summary.
//
// Request/response workloads are split over the client's shards (--shards): shard s owns its share of
// the connections and of the clients (a client only uses connections of its own shard), all shards
// draw request indices from one run_plan, and the per-shard results are merged on shard 0.
//
//   shard 0                          shard s
//   setup  --submit_to-->            open connections, make sources, prepare (lease grant, streams)
//   start the plan's clock
//   run    --submit_to-->            request loops until the plan is used up
//   teardown --submit_to-->          finish sources, close connections; hand back the results
//
// Watch workloads run on shard 0 only.
#include "bench/loadgen/bench_run.h"

#include <algorithm>
#include <iostream>
#include <memory>
#include <vector>

#include "bench/loadgen/connections.h"
#include "bench/loadgen/cpu_clock.h"
#include "bench/loadgen/key_gen.h"
#include "bench/loadgen/kv_sources.h"
#include "bench/loadgen/request_loop.h"
#include "bench/loadgen/watch_workloads.h"
#include "runtime/reactor.h"
#include "runtime/smp.h"
#include "runtime/when_all.h"

namespace ringkv::bench {
namespace {

struct client_slot {
  std::unique_ptr<request_source> source;
  bench_result stats;
};

// One shard's share of a request workload; touched only by that shard while a phase runs on it.
struct shard_part {
  uint32_t conns = 0;
  uint32_t clients = 0;
  uint32_t first_client_index = 0;
  connection_set connections;
  std::vector<client_slot> slots;
  bool ran = false;
};

runtime::task<int> prepare_one(const bench_options& options, client_slot& slot) {
  client::status status;
  if (!options.user.empty()) status = co_await slot.source->authenticate(options.user);
  if (status.ok()) status = co_await slot.source->prepare();
  if (!status.ok()) slot.stats.record_error(status.code, status.message);
  co_return status.ok() ? 0 : 1;
}

runtime::task<int> loop_one(run_plan& plan, client_slot& slot) {
  co_await request_loop(plan, *slot.source, slot.stats);
  co_return 0;
}

// Returns the number of clients that could not be prepared, or -1 when connecting failed.
runtime::task<int> setup_part(const bench_options& options, const workload_data& data, shard_part& part) {
  part.connections = co_await open_connections(options, part.conns);
  if (!part.connections.error.empty()) co_return -1;
  part.slots.resize(part.clients);
  for (uint32_t i = 0; i < part.clients; ++i) {
    client::grpc_connection& client = *part.connections.clients[i % part.connections.clients.size()];
    part.slots[i].source = make_request_source(options, data, client, part.first_client_index + i);
  }
  std::vector<runtime::task<int>> preparing;
  for (auto& slot : part.slots) preparing.push_back(prepare_one(options, slot));
  const std::vector<int> prepared = co_await runtime::when_all(std::move(preparing));
  int failures = 0;
  for (int failed : prepared) failures += failed;
  co_return failures;
}

runtime::task<int> run_part(run_plan& plan, shard_part& part) {
  std::vector<runtime::task<int>> loops;
  for (auto& slot : part.slots) loops.push_back(loop_one(plan, slot));
  co_await runtime::when_all(std::move(loops));
  part.ran = true;
  co_return 0;
}

runtime::task<int> teardown_part(shard_part& part) {
  for (auto& slot : part.slots) {
    co_await slot.source->finish();
    slot.source->add_counters(slot.stats);
  }
  co_await close_connections(part.connections);
  co_return 0;
}

// Runs `phase(part)` on every part's shard at once; returns the results in part order.
template <typename Phase>
runtime::task<std::vector<int>> on_every_shard(std::vector<std::unique_ptr<shard_part>>& parts, Phase phase) {
  std::vector<runtime::task<int>> calls;
  for (size_t s = 0; s < parts.size(); ++s) {
    shard_part* part = parts[s].get();
    calls.push_back(runtime::submit_to(static_cast<unsigned>(s), [phase, part]() { return phase(*part); }));
  }
  std::vector<int> results = co_await runtime::when_all(std::move(calls));
  co_return results;
}

// Splits conns and clients over the shards: only as many shards as there are connections are used.
std::vector<std::unique_ptr<shard_part>> split_parts(const bench_options& options) {
  const uint32_t shards = std::min({options.shards, options.conns, runtime::shard_count()});
  std::vector<std::unique_ptr<shard_part>> parts;
  uint32_t first_client = 0;
  for (uint32_t s = 0; s < shards; ++s) {
    auto part = std::make_unique<shard_part>();
    part->conns = options.conns / shards + (s < options.conns % shards ? 1 : 0);
    part->clients = options.clients / shards + (s < options.clients % shards ? 1 : 0);
    part->first_client_index = first_client;
    first_client += part->clients;
    if (part->clients > 0) parts.push_back(std::move(part));
  }
  return parts;
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

void print_results(std::ostream& out, const bench_options& options, std::vector<bench_result>& results) {
  if (options.json) out << "{\"results\":[";
  for (size_t i = 0; i < results.size(); ++i) print_result(out, options, results[i], i + 1 == results.size());
  if (options.json) out << "]}\n";
}

// put, range, txn-put, txn-mixed, mixed, lease-keepalive.
runtime::task<int> run_request_workload(const bench_options& options, std::ostream& out) {
  const workload_data data{random_bytes(options.val_size, 0xda7a)};
  auto parts = split_parts(options);
  const std::vector<int> prepared =
      co_await on_every_shard(parts, [&options, &data](shard_part& part) { return setup_part(options, data, part); });
  int prepare_failures = 0;
  for (size_t s = 0; s < parts.size(); ++s) {
    if (prepared[s] < 0) {
      std::cerr << "ringkv-bench: " << parts[s]->connections.error << "\n";
      prepare_failures = -1;
    } else if (prepare_failures >= 0) {
      prepare_failures += prepared[s];
    }
  }

  run_plan plan(options.total, options.duration, options.rate_per_s);
  std::vector<bench_result> results(1);
  bench_result& total = results[0];
  total.workload = workload_name(options.workload);
  if (prepare_failures == 0) {
    const cpu_meter cpu(options.server_pids);
    const auto started = bench_clock::now();
    {
      progress_line progress(plan.progress, plan.expected_total(), !options.json && progress_line::stderr_is_terminal());
      plan.start(started);
      co_await on_every_shard(parts, [&plan](shard_part& part) { return run_part(plan, part); });
    }
    total.elapsed = bench_clock::now() - started;
    total.client_cpu = cpu.client_used();
    total.server_cpu = cpu.servers_used();
    total.server_processes = cpu.server_processes();
  }
  co_await on_every_shard(parts, [](shard_part& part) { return teardown_part(part); });
  if (prepare_failures < 0) co_return 1;
  for (auto& part : parts) {
    for (auto& slot : part->slots) total.merge(slot.stats);
  }
  print_results(out, options, results);
  co_return prepare_failures == 0 ? 0 : 1;
}

runtime::task<int> run_watch(const bench_options& options, std::ostream& out) {
  // watch-latency: one connection per watching client plus one for the puts (as etcd's tool).
  const uint32_t count = options.workload == workload_kind::watch_latency ? options.clients + 1 : options.conns;
  connection_set connections = co_await open_connections(options, count);
  int exit_code = 1;
  if (!connections.error.empty()) {
    std::cerr << "ringkv-bench: " << connections.error << "\n";
  } else {
    std::vector<bench_result> results = co_await run_watch_workload(options, connections);
    print_results(out, options, results);
    exit_code = 0;
  }
  co_await close_connections(connections);
  co_return exit_code;
}

}  // namespace

runtime::task<int> run_bench(const bench_options& options, std::ostream& out) {
  if (options.workload == workload_kind::range && !options.json) {
    out << (options.consistency == read_consistency::linearizable ? "bench with linearizable range\n"
                                                                   : "bench with serializable range\n");
  }
  const bool watching = options.workload == workload_kind::watch || options.workload == workload_kind::watch_latency;
  int exit_code = 0;
  if (watching) {
    exit_code = co_await run_watch(options, out);
  } else {
    exit_code = co_await run_request_workload(options, out);
  }
  out.flush();
  co_return exit_code;
}

}  // namespace ringkv::bench
