// run_plan: which requests a run makes and when each is due, shared by every client on every shard.
// Closed loop: indices are handed out as clients ask. Open loop (rate > 0): request i is due at
// start + i / rate. A run ends after `total` requests, or (duration-bounded) at start + duration.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>

#include "bench/loadgen/progress_line.h"

namespace ringkv::bench {

using bench_clock = std::chrono::steady_clock;

// Which requests exist and when they are due; shared by every client of a run (all shards).
class run_plan {
 public:
  // total > 0: exactly `total` requests; otherwise until `duration` has passed. rate_per_s 0: closed loop.
  run_plan(uint64_t total, std::chrono::nanoseconds duration, double rate_per_s);

  void start(bench_clock::time_point now);
  // The next request index, or nullopt when the run is over (budget used up or deadline passed).
  std::optional<uint64_t> claim(bench_clock::time_point now);
  bool open_loop() const { return rate_per_s_ > 0; }
  bench_clock::time_point due_time(uint64_t index) const;
  uint64_t expected_total() const { return total_; }

  progress_counters progress;

 private:
  uint64_t total_;
  std::chrono::nanoseconds duration_;
  double rate_per_s_;
  bench_clock::time_point start_{};
  bench_clock::time_point deadline_ = bench_clock::time_point::max();
  std::atomic<uint64_t> next_index_{0};
};

}  // namespace ringkv::bench
