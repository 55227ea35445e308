// Helpers shared by the net/tcp tests: run a test body on a one-shard runtime, open a loopback
// listener, make a connected (client, server) pair, and fill/check byte patterns.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <utility>
#include <vector>

#include "net/tcp/connect.h"
#include "net/tcp/connection.h"
#include "net/tcp/listener.h"
#include "runtime/reactor.h"
#include "runtime/task.h"

namespace ringkv::net::testing {

using namespace std::chrono_literals;

// Runs `body` as the main task of a runtime with `shards` shards; the test fails if it does not return 0.
inline void run_on_runtime(std::function<runtime::task<int>()> body, unsigned shards = 1) {
  runtime::reactor_config config;
  config.shards = shards;
  EXPECT_EQ(runtime::run(config, std::move(body)), 0);
}

inline listener open_loopback_listener(listen_options options = {}) {
  result<listener> opened = listener::open(endpoint::loopback_v4(0), options);
  EXPECT_TRUE(opened.ok()) << opened.error_message();
  return std::move(opened).value();
}

struct connected_pair {
  connection client;
  connection server;
};

// Connects a client to `l` and accepts it on the server side.
inline runtime::task<connected_pair> connect_pair(listener& l, connection_limits client_limits = {}) {
  runtime::task<result<connection>> accepting = l.accept();
  result<connection> client = co_await connect(l.local(), 5s, client_limits);
  EXPECT_TRUE(client.ok()) << client.error_message();
  result<connection> server = co_await std::move(accepting);
  EXPECT_TRUE(server.ok()) << server.error_message();
  co_return connected_pair{std::move(client).value(), std::move(server).value()};
}

inline runtime::task<void> close_all(connected_pair& p, listener& l) {
  co_await p.client.close();
  co_await p.server.close();
  co_await l.close();
}

// Byte i of stream `seed`: a pattern where a lost, repeated or reordered byte shows up.
inline std::byte pattern_byte(uint64_t i, unsigned seed) {
  return static_cast<std::byte>((i * 131 + (i >> 8) * 7 + seed * 29) & 0xff);
}

inline std::vector<std::byte> pattern(size_t n, unsigned seed, uint64_t from = 0) {
  std::vector<std::byte> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = pattern_byte(from + i, seed);
  return v;
}

}  // namespace ringkv::net::testing
