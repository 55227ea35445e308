// bench/mvcc/mvcc_bench.cc: the MVCC targets on one core: 1M keys of 32 B with 256 B values.
// Puts applied per second (new keys and overwrites), point gets per second, a 100k-key range without
// a second copy (range_view), memory per key against the raw key+value bytes, and the longest single
// compaction step over 1M superseded revisions.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>

#include "storage/mvcc/store.h"

namespace mvcc = ringkv::storage::mvcc;

namespace {

constexpr int key_count = 1000000;
constexpr size_t key_bytes = 32, value_bytes = 256;

std::string key_of(uint64_t i) {
  char buf[key_bytes + 1];
  std::snprintf(buf, sizeof buf, "key/%028llu", static_cast<unsigned long long>(i * 2654435761ull % 100000000000ull));
  return std::string(buf, key_bytes);
}

const std::string& value_bytes_of() {
  static const std::string v(value_bytes, 'v');
  return v;
}

// CPU time of this thread: the machine is shared, so wall time would count other processes.
double thread_cpu_us() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

void compact_fully(mvcc::MvccStore& store) {
  store.compact(store.current_revision());
  while (store.compaction_pending()) store.compaction_step();
}

size_t heap_used() { return mallinfo2().uordblks; }

// One store with 1M keys at one revision each, built once and shared by the read benchmarks.
struct Loaded {
  std::unique_ptr<mvcc::MvccStore> store = std::make_unique<mvcc::MvccStore>();
  std::vector<std::string> keys;
  double load_s = 0;
  size_t heap_bytes = 0;
};

Loaded& loaded() {
  static Loaded l = [] {
    Loaded x;
    x.keys.reserve(key_count);
    for (int i = 0; i < key_count; ++i) x.keys.push_back(key_of(i));
    size_t before = heap_used();
    x.store = std::make_unique<mvcc::MvccStore>();
    mvcc::PutRequest p;
    p.value = value_bytes_of();
    double t0 = thread_cpu_us();
    for (const auto& k : x.keys) {
      p.key = k;
      x.store->put(p);
    }
    x.load_s = (thread_cpu_us() - t0) / 1e6;
    x.heap_bytes = heap_used() - before;
    return x;
  }();
  return l;
}

// Request keys in random order, packed contiguously. The key of the next request is prefetched, as a
// server's just-parsed request bytes are in cache: the figures then count the store's own memory
// accesses, not the benchmark's.
struct RequestKeys {
  std::string bytes;
  std::vector<uint32_t> order;
  explicit RequestKeys(uint64_t seed, size_t n) {
    const auto& keys = loaded().keys;
    bytes.reserve(keys.size() * key_bytes);
    for (const auto& k : keys) bytes += k;
    std::mt19937_64 rng(seed);
    order.resize(n);
    for (auto& o : order) o = static_cast<uint32_t>(rng() % keys.size());
  }
  std::string_view at(size_t i) const {
    if (i + 1 < order.size()) __builtin_prefetch(bytes.data() + size_t{order[i + 1]} * key_bytes);
    return {bytes.data() + size_t{order[i]} * key_bytes, key_bytes};
  }
};

void BM_PutNewKeys(benchmark::State& state) {
  Loaded& l = loaded();
  for (auto _ : state) {
  }
  state.counters["puts_per_cpu_s"] = key_count / l.load_s;
  state.counters["heap_bytes_per_key"] = static_cast<double>(l.heap_bytes) / key_count;
  state.counters["memory_vs_raw"] = static_cast<double>(l.heap_bytes) / (key_count * (key_bytes + value_bytes));
}
BENCHMARK(BM_PutNewKeys)->Iterations(1)->Unit(benchmark::kMillisecond);

void BM_PutOverwrite(benchmark::State& state) {
  Loaded& l = loaded();
  RequestKeys keys(7, state.max_iterations);
  mvcc::PutRequest p;
  p.value = value_bytes_of();
  size_t i = 0;
  for (auto _ : state) {
    p.key.assign(keys.at(i++));
    benchmark::DoNotOptimize(l.store->put(p));
  }
  state.SetItemsProcessed(state.iterations());
  compact_fully(*l.store);  // back to one revision per key for the benchmarks that follow
}
BENCHMARK(BM_PutOverwrite)->Iterations(1000000);

// One get at a time, answered as views (what the server encodes from) or as owned copies.
struct AsViews {};
struct AsCopies {};

template <class Mode>
void BM_PointGet(benchmark::State& state) {
  Loaded& l = loaded();
  RequestKeys keys(9, state.max_iterations);
  mvcc::RangeRequest r;
  size_t i = 0;
  for (auto _ : state) {
    r.key.assign(keys.at(i++));
    if constexpr (std::is_same_v<Mode, AsViews>) {
      auto res = l.store->range_view(r);
      benchmark::DoNotOptimize(res->kvs[0].value.front());  // the server reads the value to encode it
    } else {
      auto res = l.store->range(r);
      benchmark::DoNotOptimize(res->kvs.data());
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_TEMPLATE(BM_PointGet, AsViews)->Iterations(2000000);
BENCHMARK_TEMPLATE(BM_PointGet, AsCopies)->Iterations(1000000);

// Runs `one(key)` over the request keys in batches: prefetch the batch's keys, then execute each.
template <class F>
void run_batched(benchmark::State& state, uint64_t seed, F&& one) {
  Loaded& l = loaded();
  const size_t batch = static_cast<size_t>(state.range(0));
  RequestKeys keys(seed, 2000000);
  std::vector<std::string_view> views(batch);
  size_t i = 0;
  for (auto _ : state) {
    if (i + batch > keys.order.size()) i = 0;
    for (size_t b = 0; b < batch; ++b) views[b] = keys.at(i + b);
    l.store->prefetch(views);
    for (size_t b = 0; b < batch; ++b) one(views[b]);
    i += batch;
  }
  state.SetItemsProcessed(state.iterations() * batch);
}

// Gets in batches, as the server executes the reads released by one ReadIndex.
void BM_PointGetBatched(benchmark::State& state) {
  mvcc::RangeRequest r;
  run_batched(state, 9, [&](std::string_view key) {
    r.key.assign(key);
    auto res = loaded().store->range_view(r);
    benchmark::DoNotOptimize(res->kvs[0].value.front());  // the server reads the value to encode it
  });
}
BENCHMARK(BM_PointGetBatched)->Arg(16)->Arg(32);

// Puts applied in batches, as one raft apply batch.
void BM_PutOverwriteBatched(benchmark::State& state) {
  mvcc::PutRequest p;
  p.value = value_bytes_of();
  run_batched(state, 11, [&](std::string_view key) {
    p.key.assign(key);
    benchmark::DoNotOptimize(loaded().store->put(p));
  });
  compact_fully(*loaded().store);
}
BENCHMARK(BM_PutOverwriteBatched)->Arg(16)->Iterations(1000000 / 16);

void BM_Range100k(benchmark::State& state) {
  Loaded& l = loaded();
  // Exactly 100k keys: [sorted[k], sorted[k + 100000]).
  std::vector<std::string> sorted = l.keys;
  std::sort(sorted.begin(), sorted.end());
  mvcc::RangeRequest r;
  r.key = sorted[400000];
  r.range_end = sorted[500000];
  for (auto _ : state) {
    auto res = l.store->range_view(r);
    if (res->kvs.size() != 100000) state.SkipWithError("short range");
    benchmark::DoNotOptimize(res->kvs.data());
  }
  state.SetItemsProcessed(state.iterations() * 100000);
}
BENCHMARK(BM_Range100k)->Unit(benchmark::kMillisecond)->Iterations(20);

// 1M keys, each overwritten once, then compacted: report the slowest single step.
void BM_CompactionStep(benchmark::State& state) {
  Loaded& l = loaded();
  mvcc::PutRequest p;
  p.value = value_bytes_of();
  for (const auto& k : l.keys) {
    p.key = k;
    l.store->put(p);
  }
  double max_step_us = 0, total_ms = 0;
  int steps = 0;
  for (auto _ : state) {
    l.store->compact(l.store->current_revision());
    while (l.store->compaction_pending()) {
      double t0 = thread_cpu_us();
      l.store->compaction_step();
      double us = thread_cpu_us() - t0;
      max_step_us = std::max(max_step_us, us);
      total_ms += us / 1000;
      ++steps;
    }
  }
  state.counters["max_step_cpu_us"] = max_step_us;
  state.counters["steps"] = steps;
  state.counters["total_cpu_ms"] = total_ms;
}
BENCHMARK(BM_CompactionStep)->Iterations(1)->Unit(benchmark::kMillisecond);

void BM_SnapshotRestore(benchmark::State& state) {
  Loaded& l = loaded();
  for (auto _ : state) {
    std::string snap = l.store->snapshot();
    mvcc::MvccStore restored;
    if (restored.restore(snap) != mvcc::Errc::ok) state.SkipWithError("restore failed");
    state.counters["snapshot_mb"] = snap.size() / 1e6;
  }
}
BENCHMARK(BM_SnapshotRestore)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
