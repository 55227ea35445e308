// Helpers shared by the net/peer tests: a one-shard runtime, transport limits with short reconnect
// delays, and polling until a condition holds.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>

#include "net/peer/peer_transport.h"
#include "runtime/reactor.h"
#include "runtime/task.h"
#include "runtime/timer.h"

namespace ringkv::net::peer::testing {

using namespace std::chrono_literals;

// Runs `body` as the main task of a one-shard runtime; the test fails if it does not return 0.
inline void run_on_runtime(std::function<runtime::task<int>()> body) {
  runtime::reactor_config config;
  config.shards = 1;
  EXPECT_EQ(runtime::run(config, std::move(body)), 0);
}

inline peer_limits fast_limits() {
  peer_limits limits;
  limits.reconnect_delay_initial = 5ms;
  limits.reconnect_delay_max = 50ms;
  return limits;
}

// Waits (polling every millisecond) until `done()` or the deadline; returns done().
inline runtime::task<bool> eventually(std::function<bool()> done, std::chrono::milliseconds limit = 10s) {
  const auto deadline = runtime::clock::now() + limit;
  while (!done() && runtime::clock::now() < deadline) co_await runtime::sleep_for(1ms);
  co_return done();
}

}  // namespace ringkv::net::peer::testing
