// WAL benchmarks: durable appends/s and p50/p99 append latency for 256-byte entries with 1, 16, 256
// and 4096 concurrent appenders, each next to the physical floor measured in the same run (one 4 KiB
// O_DIRECT write + fdatasync into a preallocated, zero-filled file on the same disk); and a fresh log:
// open() on an empty directory, the first durable append, then latency in the first 2 s vs later.
// Env: RINGKV_BENCH_DIR (default /tmp), WAL_BENCH_SECONDS (default 2), WAL_BENCH_PREALLOC=fallocate
// (fallocate-only segments instead of zero-filled ones).
#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "runtime/aligned_buffer.h"
#include "runtime/io.h"
#include "runtime/reactor.h"
#include "runtime/when_all.h"
#include "storage/wal/wal.h"

namespace {

using namespace ringkv;
using clock_type = std::chrono::steady_clock;
namespace fs = std::filesystem;

std::string make_temp_dir() {
  const char* base = std::getenv("RINGKV_BENCH_DIR");
  std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/ringkv-wal-bench-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

double bench_seconds() {
  const char* v = std::getenv("WAL_BENCH_SECONDS");
  return v != nullptr ? std::atof(v) : 2.0;
}

double percentile_us(std::vector<double>& samples, double p) {
  if (samples.empty()) return 0;
  const auto at = static_cast<size_t>(p * static_cast<double>(samples.size() - 1));
  std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(at), samples.end());
  return samples[at];
}

double micros_since(clock_type::time_point start) {
  return std::chrono::duration<double, std::micro>(clock_type::now() - start).count();
}

// The floor: sequential 4 KiB O_DIRECT writes into a zero-filled file, each followed by fdatasync.
struct floor_file {
  static constexpr uint64_t file_bytes = 8 << 20;
  int fd = -1;
  uint64_t next_offset = 0;
  runtime::aligned_buffer block{4096};
  std::vector<double> latencies_us;
};

runtime::task<void> open_floor(const std::string& dir, floor_file& f) {
  const std::string path = dir + "/floor";
  f.fd = co_await runtime::io::openat(AT_FDCWD, path.c_str(), O_CREAT | O_RDWR | O_DIRECT, 0600);
  if (f.fd < 0) throw std::runtime_error("open floor file failed");
  runtime::aligned_buffer zeros(1 << 20);
  for (uint64_t at = 0; at < f.file_bytes; at += zeros.size()) {
    if (co_await runtime::io::write_at(f.fd, zeros.data(), zeros.size(), at) != static_cast<int>(zeros.size())) {
      throw std::runtime_error("zero-filling the floor file failed");
    }
  }
  co_await runtime::io::fdatasync(f.fd);
  std::memset(f.block.data(), 'f', f.block.size());
  ::unlink(path.c_str());
}

runtime::task<void> measure_floor(floor_file& f, int count) {
  for (int i = 0; i < count; ++i) {
    const auto start = clock_type::now();
    const int w = co_await runtime::io::write_at(f.fd, f.block.data(), f.block.size(), f.next_offset);
    const int s = co_await runtime::io::fdatasync(f.fd);
    if (w != 4096 || s != 0) throw std::runtime_error("floor write failed");
    f.latencies_us.push_back(micros_since(start));
    f.next_offset = (f.next_offset + 4096) % f.file_bytes;
  }
}

struct append_result {
  uint64_t records = 0;
  double seconds = 0;
  std::vector<double> latencies_us;
  storage::wal::wal_stats stats;
};

runtime::task<void> appender(storage::wal::write_ahead_log& log, uint64_t& next, clock_type::time_point end,
                             const std::string& payload, append_result& result) {
  while (clock_type::now() < end) {
    const uint64_t index = next++;
    const storage::wal::entry_view e{index, 1, 0, payload};
    const auto start = clock_type::now();
    co_await log.append(std::span(&e, 1));
    result.latencies_us.push_back(micros_since(start));
    ++result.records;
  }
}

// Alternates phases so the floor and the log see the same machine (the disk and CPUs are shared):
// 50 floor writes, then `phase` of appends with every appender, until `seconds` of appends ran.
runtime::task<append_result> measure_appends(const std::string& dir, int appenders, double seconds,
                                             floor_file& floor) {
  storage::wal::wal_config config;
  config.dir = dir + "/wal";
  const char* prealloc = std::getenv("WAL_BENCH_PREALLOC");
  if (prealloc != nullptr && std::string(prealloc) == "fallocate") {
    config.prealloc = storage::wal::preallocation::fallocate_only;
  }
  auto opened = co_await storage::wal::write_ahead_log::open(config);
  storage::wal::write_ahead_log& log = *opened.log;
  const std::string payload(256, 'p');
  uint64_t next = 1;
  append_result warmup;  // the first segment's preallocation, page faults in the buffers
  co_await appender(log, next, clock_type::now() + std::chrono::milliseconds(500), payload, warmup);
  const storage::wal::wal_stats before = log.stats();

  append_result result;
  result.latencies_us.reserve(1 << 20);
  constexpr auto phase = std::chrono::milliseconds(250);
  const auto phases = static_cast<int>(seconds * 4 + 0.5);
  for (int p = 0; p < phases; ++p) {
    co_await measure_floor(floor, 50);
    const auto start = clock_type::now();
    runtime::task_group group;
    for (int a = 0; a < appenders; ++a) group.spawn(appender(log, next, start + phase, payload, result));
    co_await group.wait();
    result.seconds += std::chrono::duration<double>(clock_type::now() - start).count();
  }
  co_await measure_floor(floor, 50);
  result.stats = log.stats();
  result.stats.records -= before.records;
  result.stats.writes -= before.writes;
  co_await log.close();
  co_return result;
}

void BM_DurableAppend(benchmark::State& state) {
  const int appenders = static_cast<int>(state.range(0));
  const std::string dir = make_temp_dir();
  std::vector<double> floor;
  append_result result;
  for (auto _ : state) {
    runtime::reactor_config config;
    config.handle_signals = false;
    runtime::run(config, [&]() -> runtime::task<int> {
      floor_file f;
      co_await open_floor(dir, f);
      result = co_await measure_appends(dir, appenders, bench_seconds(), f);
      co_await runtime::io::close(f.fd);
      floor = std::move(f.latencies_us);
      co_return 0;
    });
  }
  fs::remove_all(dir);
  const double floor_p50 = percentile_us(floor, 0.5);
  const double p50 = percentile_us(result.latencies_us, 0.5);
  state.counters["records_per_s"] = static_cast<double>(result.records) / result.seconds;
  state.counters["p50_us"] = p50;
  state.counters["p90_us"] = percentile_us(result.latencies_us, 0.90);
  state.counters["p99_us"] = percentile_us(result.latencies_us, 0.99);
  state.counters["floor_p50_us"] = floor_p50;
  state.counters["floor_p99_us"] = percentile_us(floor, 0.99);
  state.counters["p50_over_floor"] = p50 / floor_p50;
  state.counters["records_per_write"] =
      static_cast<double>(result.stats.records) / static_cast<double>(std::max<uint64_t>(1, result.stats.writes));
}

// A fresh node: open() on an empty directory, then appenders from the first moment on (no warm-up),
// latencies split into the first 2 s and the rest (which includes next-segment preparations).
struct fresh_result {
  double open_ms = 0;
  double first_append_ms = 0;  // from open() returning to the first append being durable
  std::vector<double> early_us;
  std::vector<double> late_us;
  uint64_t early_records = 0;
  uint64_t late_records = 0;
  storage::wal::wal_stats stats;
};

runtime::task<void> timed_appender(storage::wal::write_ahead_log& log, uint64_t& next, clock_type::time_point origin,
                                   clock_type::time_point end, const std::string& payload, fresh_result& result) {
  while (clock_type::now() < end) {
    const uint64_t index = next++;
    const storage::wal::entry_view e{index, 1, 0, payload};
    const auto start = clock_type::now();
    co_await log.append(std::span(&e, 1));
    const bool early = start - origin < std::chrono::seconds(2);
    (early ? result.early_us : result.late_us).push_back(micros_since(start));
    ++(early ? result.early_records : result.late_records);
  }
}

runtime::task<fresh_result> measure_fresh_log(const std::string& dir, int appenders, double late_seconds) {
  storage::wal::wal_config config;
  config.dir = dir + "/wal";
  fresh_result result;
  const auto open_start = clock_type::now();
  auto opened = co_await storage::wal::write_ahead_log::open(config);
  storage::wal::write_ahead_log& log = *opened.log;
  result.open_ms = micros_since(open_start) / 1000;
  const std::string payload(256, 'p');
  const storage::wal::entry_view first{1, 1, 0, payload};
  const auto first_start = clock_type::now();
  co_await log.append(std::span(&first, 1));
  result.first_append_ms = micros_since(first_start) / 1000;
  uint64_t next = 2;
  const auto origin = clock_type::now();
  const auto end = origin + std::chrono::milliseconds(static_cast<int64_t>((2 + late_seconds) * 1000));
  runtime::task_group group;
  for (int a = 0; a < appenders; ++a) group.spawn(timed_appender(log, next, origin, end, payload, result));
  co_await group.wait();
  result.stats = log.stats();
  co_await log.close();
  co_return result;
}

void BM_FreshLog(benchmark::State& state) {
  const int appenders = static_cast<int>(state.range(0));
  const std::string dir = make_temp_dir();
  fresh_result result;
  for (auto _ : state) {
    runtime::reactor_config config;
    config.handle_signals = false;
    runtime::run(config, [&]() -> runtime::task<int> {
      result = co_await measure_fresh_log(dir, appenders, bench_seconds());
      co_return 0;
    });
  }
  fs::remove_all(dir);
  state.counters["open_ms"] = result.open_ms;
  state.counters["first_append_ms"] = result.first_append_ms;
  state.counters["first2s_per_s"] = static_cast<double>(result.early_records) / 2;
  state.counters["first2s_p50_us"] = percentile_us(result.early_us, 0.5);
  state.counters["first2s_p99_us"] = percentile_us(result.early_us, 0.99);
  state.counters["later_per_s"] = static_cast<double>(result.late_records) / bench_seconds();
  state.counters["later_p50_us"] = percentile_us(result.late_us, 0.5);
  state.counters["later_p99_us"] = percentile_us(result.late_us, 0.99);
  state.counters["segments"] = static_cast<double>(result.stats.segments_created);
  state.counters["prepare_ms_max"] = static_cast<double>(result.stats.segment_prepare_us_max) / 1000;
  state.counters["batches_after_chunk"] = static_cast<double>(result.stats.flusher_disk_waits);
}

BENCHMARK(BM_FreshLog)->Arg(1)->Arg(256)->Arg(4096)->Iterations(1)->Unit(benchmark::kMillisecond);

BENCHMARK(BM_DurableAppend)->Arg(1)->Arg(16)->Arg(256)->Arg(4096)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
