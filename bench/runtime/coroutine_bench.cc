// Runtime micro benchmarks of the task machinery and the shard queues:
//   - coroutine create + resume + destroy: one task<int> made, awaited to completion and freed (ns),
//   - cross-shard round trip: submit_to(shard 1) from shard 0 and back, with 2 shards (us).
#include <benchmark/benchmark.h>

#include <chrono>

#include "bench/runtime/bench_runtime_config.h"
#include "runtime/reactor.h"
#include "runtime/smp.h"
#include "runtime/task.h"

namespace ringkv::bench {
namespace {

runtime::task<int> add_one(int v) { co_return v + 1; }

// Runs `step` (int -> task<int>) once per benchmark iteration on shard 0 of a runtime with `shards`
// shards; returns the mean seconds per step.
template <typename Step>
double seconds_per_step(benchmark::State& state, unsigned shards, Step step) {
  double seconds = 0;
  runtime::run(bench_runtime_config(shards), [&state, &seconds, &step]() -> runtime::task<int> {
    int v = 0;
    const auto start = std::chrono::steady_clock::now();
    for (auto _ : state) {
      v = co_await step(v);
      benchmark::DoNotOptimize(v);
    }
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    co_return 0;
  });
  return seconds / static_cast<double>(state.iterations());
}

void BM_coroutine_create_resume_destroy(benchmark::State& state) {
  const double seconds = seconds_per_step(state, 1, [](int v) { return add_one(v); });
  state.counters["ns_per_coroutine"] = seconds * 1e9;
}
BENCHMARK(BM_coroutine_create_resume_destroy)->UseRealTime();

void BM_cross_shard_round_trip(benchmark::State& state) {
  const double seconds = seconds_per_step(state, 2, [](int v) { return runtime::submit_to(1, [v] { return v + 1; }); });
  state.counters["us_per_round_trip"] = seconds * 1e6;
}
BENCHMARK(BM_cross_shard_round_trip)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace ringkv::bench
