// TCP echo over loopback served by the plain epoll baseline server (64 connections, 64-byte messages).
// The runtime's figure and the ratio between the two are in echo_runtime_bench.cc.
#include <benchmark/benchmark.h>

#include "bench/runtime/echo_bench_config.h"
#include "bench/runtime/epoll_echo_server.h"

namespace ringkv::bench {
namespace {

void BM_tcp_echo_epoll_baseline(benchmark::State& state) {
  for (auto _ : state) report_echo_figures(state, measure_echo<epoll_echo_server>(state), "");
}
BENCHMARK(BM_tcp_echo_epoll_baseline)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace ringkv::bench
