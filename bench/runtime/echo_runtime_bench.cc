// TCP echo over loopback, 64 connections x 64-byte messages, same load client for both servers:
//   BM_tcp_echo_runtime          requests/s of the runtime's echo server (net::listener/connection),
//   BM_tcp_echo_runtime_vs_epoll both servers measured in alternation, and runtime/epoll as `ratio`
//                                (goal >= 1.0).
#include <benchmark/benchmark.h>

#include <algorithm>

#include "bench/runtime/echo_bench_config.h"
#include "bench/runtime/epoll_echo_server.h"
#include "bench/runtime/runtime_echo_server.h"

namespace ringkv::bench {
namespace {

constexpr int ratio_rounds = 2;  // alternations; the best round of each server counts

void BM_tcp_echo_runtime(benchmark::State& state) {
  for (auto _ : state) {
    runtime_echo_server server;
    report_echo_load(state, run_echo_load(echo_bench_config(server.port())), "req_per_s");
  }
}
BENCHMARK(BM_tcp_echo_runtime)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_tcp_echo_runtime_vs_epoll(benchmark::State& state) {
  for (auto _ : state) {
    double epoll_best = 0, runtime_best = 0;
    for (int round = 0; round < ratio_rounds; ++round) {
      {
        epoll_echo_server server;
        echo_load_result r = run_echo_load(echo_bench_config(server.port()));
        report_echo_load(state, r, "epoll_req_per_s");
        epoll_best = std::max(epoll_best, r.requests_per_s());
      }
      {
        runtime_echo_server server;
        echo_load_result r = run_echo_load(echo_bench_config(server.port()));
        report_echo_load(state, r, "runtime_req_per_s");
        runtime_best = std::max(runtime_best, r.requests_per_s());
      }
    }
    state.counters["epoll_req_per_s"] = epoll_best;
    state.counters["runtime_req_per_s"] = runtime_best;
    state.counters["ratio"] = epoll_best > 0 ? runtime_best / epoll_best : 0;
  }
}
BENCHMARK(BM_tcp_echo_runtime_vs_epoll)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace ringkv::bench
