// The closed-loop and open-loop request engine shared by the request/response workloads.
//
// Each client is a coroutine running request_loop(): claim the next request index from the shared
// run_plan, (open loop only) sleep until that request's scheduled time, issue it through its
// request_source, record the latency or the error. Closed loop: a client issues its next request when
// the previous one answered, so `clients` bounds the requests in flight. Open loop (--rate R): request i
// is due at start + i/R and its latency is counted from that due time, so a server that falls behind is
// charged for the queueing it causes (no coordinated omission).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>

#include "bench/loadgen/bench_result.h"
#include "bench/loadgen/etcd_client.h"
#include "bench/loadgen/progress_line.h"
#include "runtime/task.h"

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

// One client's request maker: holds its reusable request messages, issues request `index`.
class request_source {
 public:
  virtual ~request_source() = default;
  // Once per client before the clock starts (e.g. grant a lease, open a stream).
  virtual runtime::task<rpc_status> prepare() { co_return rpc_status{}; }
  virtual runtime::task<rpc_status> issue(uint64_t index) = 0;
  // Once per client after its last request (e.g. close a stream).
  virtual runtime::task<void> finish() { co_return; }
  // Workload counters (e.g. writes done), added to the result after the run.
  virtual void add_counters(bench_result&) const {}
};

runtime::task<void> request_loop(run_plan& plan, request_source& source, bench_result& stats);

}  // namespace ringkv::bench
