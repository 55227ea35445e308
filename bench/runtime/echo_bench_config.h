// Settings shared by the TCP echo benchmarks: 64 connections, 64-byte messages, and a run length
// taken from $RINGKV_BENCH_ECHO_MS (default 2000 ms) so a quick check can run shorter. Also the one
// measurement routine both servers go through, so their figures are taken the same way.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include "bench/runtime/echo_load_client.h"

namespace ringkv::bench {

inline echo_load_config echo_bench_config(uint16_t port) {
  echo_load_config config;
  config.port = port;
  config.connections = 64;
  config.message_bytes = 64;
  const char* ms = std::getenv("RINGKV_BENCH_ECHO_MS");
  config.duration = std::chrono::milliseconds(ms && *ms ? std::atoi(ms) : 2000);
  return config;
}

struct echo_figures {
  double requests_per_s = 0;
  double server_cpu_us_per_request = 0;  // CPU of the server thread / every request it answered
};

// Starts a `Server` (epoll_echo_server or runtime_echo_server), drives the load, stops it. Marks the
// benchmark failed if the load failed or any echoed byte was wrong.
template <typename Server>
echo_figures measure_echo(benchmark::State& state) {
  Server server;
  echo_load_result load = run_echo_load(echo_bench_config(server.port()));
  const double cpu_seconds = server.stop();
  if (!load.error.empty()) state.SkipWithError(load.error.c_str());
  if (load.corrupt_bytes != 0) state.SkipWithError("echoed bytes differ from the bytes sent");
  echo_figures figures;
  figures.requests_per_s = load.requests_per_s();
  if (load.requests_total > 0) figures.server_cpu_us_per_request = cpu_seconds * 1e6 / static_cast<double>(load.requests_total);
  return figures;
}

inline void report_echo_figures(benchmark::State& state, const echo_figures& f, const std::string& prefix) {
  state.counters[prefix + "req_per_s"] = f.requests_per_s;
  state.counters[prefix + "server_cpu_us_per_req"] = f.server_cpu_us_per_request;
}

}  // namespace ringkv::bench
