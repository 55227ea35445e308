// Settings shared by the TCP echo benchmarks: 64 connections, 64-byte messages, and a run length
// taken from $RINGKV_BENCH_ECHO_MS (default 2000 ms) so a quick check can run shorter.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdlib>

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

// Reports a finished load run on `state`; marks the benchmark as failed if the run failed.
inline void report_echo_load(benchmark::State& state, const echo_load_result& result, const char* counter) {
  if (!result.error.empty()) state.SkipWithError(result.error.c_str());
  if (result.corrupt_bytes != 0) state.SkipWithError("echoed bytes differ from the bytes sent");
  state.counters[counter] = result.requests_per_s();
}

}  // namespace ringkv::bench
