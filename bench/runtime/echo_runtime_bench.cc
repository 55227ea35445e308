// TCP echo over loopback, 64 connections x 64-byte messages, same load client for both servers:
//   BM_tcp_echo_runtime          requests/s of the runtime's echo server (net::listener/connection),
//   BM_tcp_echo_runtime_vs_epoll both servers measured in alternation (the best round of each counts),
//                                runtime/epoll requests/s as `ratio` (goal >= 1.0), and the server
//                                thread's CPU per request for each (robust on a shared machine).
#include <benchmark/benchmark.h>

#include <algorithm>

#include "bench/runtime/echo_bench_config.h"
#include "bench/runtime/epoll_echo_server.h"
#include "bench/runtime/runtime_echo_server.h"

namespace ringkv::bench {
namespace {

constexpr int ratio_rounds = 2;

void BM_tcp_echo_runtime(benchmark::State& state) {
  for (auto _ : state) report_echo_figures(state, measure_echo<runtime_echo_server>(state), "");
}
BENCHMARK(BM_tcp_echo_runtime)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// Keeps the round with the most requests/s.
void keep_best(echo_figures& best, const echo_figures& round) {
  if (round.requests_per_s > best.requests_per_s) best = round;
}

void BM_tcp_echo_runtime_vs_epoll(benchmark::State& state) {
  for (auto _ : state) {
    echo_figures epoll_best, runtime_best;
    for (int round = 0; round < ratio_rounds; ++round) {
      keep_best(epoll_best, measure_echo<epoll_echo_server>(state));
      keep_best(runtime_best, measure_echo<runtime_echo_server>(state));
    }
    report_echo_figures(state, epoll_best, "epoll_");
    report_echo_figures(state, runtime_best, "runtime_");
    state.counters["ratio"] = epoll_best.requests_per_s > 0 ? runtime_best.requests_per_s / epoll_best.requests_per_s : 0;
  }
}
BENCHMARK(BM_tcp_echo_runtime_vs_epoll)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace ringkv::bench
