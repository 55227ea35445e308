// net/grpc/call_relay: calls on a connection of shard 1 run their handlers on shard 0 (the home shard)
// through a relay registry, on a real two-shard runtime. The connection is a client and a server
// session joined in memory on shard 1; the handlers live on shard 0. Checked: unary replies and
// metadata, server-streaming over many loop turns, bidi echo and half-close, error statuses, cancel
// from the client, connection loss while the home shard still holds the call, the home shard finishing
// while the connection stays open, finish and cancel crossing, backpressure (the home side sees the
// connection's backlog and its drain callback paces it), and that every relay end is freed.
#include "net/grpc/call_relay.h"

#include <gtest/gtest.h>

#include <time.h>

#include <atomic>
#include <cstdio>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/reactor.h"
#include "runtime/smp.h"
#include "runtime/spawn.h"
#include "runtime/timer.h"
#include "tests/grpc/relay_test_constants.h"
#include "tests/grpc/session_pair.h"

namespace ringkv::net::grpc {
namespace {

using namespace std::chrono_literals;

using namespace relay_test;
constexpr int calls = 200;                                  // unary test
constexpr int streams = 20;                                 // crossing test
constexpr int chunks = 64;                                  // backlog test
constexpr size_t chunk_bytes = 256 * 1024;
constexpr size_t queued_bytes_limit = 2 * 1024 * 1024;

int run_two_shards(std::function<runtime::task<int>()> main) {
  runtime::reactor_config config;
  config.shards = 2;
  config.handle_signals = false;
  return runtime::run(config, std::move(main));
}

// Pumps the in-memory connection (on its shard) until `done` holds, letting the shards exchange
// messages in between. False on timeout.
runtime::task<bool> pump_until(session_pair& pair, std::function<bool()> done) {
  const auto deadline = runtime::clock::now() + wait_limit;
  while (true) {
    pair.pump();
    if (done()) co_return true;
    if (runtime::clock::now() >= deadline) co_return false;
    const int slept = co_await runtime::sleep_for(100us);
    (void)slept;
  }
}

// Waits until no relay end is left on either shard (every end freed). Call on the home shard.
runtime::task<bool> all_relays_freed() {
  const auto deadline = runtime::clock::now() + wait_limit;
  while (true) {
    const size_t remote = co_await runtime::submit_to(connection_shard, [] { return live_relay_ends(); });
    if (remote == 0 && live_relay_ends() == 0) co_return true;
    if (runtime::clock::now() >= deadline) co_return false;
    const int slept = co_await runtime::sleep_for(200us);
    (void)slept;
  }
}

runtime::task<void> expect_all_relays_freed() {
  const bool freed = co_await all_relays_freed();
  EXPECT_TRUE(freed) << "relay ends left after " << wait_limit.count() << " s";
}

runtime::task<void> expect_pumped_until(session_pair& pair, std::function<bool()> done) {
  const bool reached = co_await pump_until(pair, std::move(done));
  EXPECT_TRUE(reached) << "timed out";
}

// On the connection shard: pumps until the home shard's handler has stored its call in `held`
// (read on the home shard, where it is written).
runtime::task<void> expect_home_holds(session_pair& pair, const call_ref& held) {
  bool seen = false;
  for (int i = 0; i < 1000 && !seen; ++i) {
    pair.pump();
    seen = co_await runtime::submit_to(home, [&held] { return bool(held); });
  }
  EXPECT_TRUE(seen) << "the home handler never ran";
}

// On the home shard, after the client or the connection went away: the handler heard of it, its
// call refuses output, every relay end is gone; then the handler lets go of the call.
runtime::task<void> expect_cancelled_and_detached(const bool& cancelled, call_ref& held) {
  co_await expect_all_relays_freed();
  EXPECT_TRUE(cancelled);
  EXPECT_FALSE(held->alive());
  EXPECT_FALSE(held->write("too late"));
  EXPECT_FALSE(held->respond("nobody listens"));
  held = call_ref();
}

TEST(CallRelay, UnaryCallsRunOnTheHomeShardWithTheirMetadata) {
  const int rc = run_two_shards([]() -> runtime::task<int> {
    service_registry home_registry;
    int ran_elsewhere = 0;
    std::string token;
    std::vector<call_ref> parked;  // every other call is answered later, from a separate task
    home_registry.add_request_method(std::string(kRange), [&](const call_ref& call, std::string_view request) {
      if (runtime::this_shard() != home) ++ran_elsewhere;
      token = call->metadata("token");
      EXPECT_EQ(call->path(), kRange);
      if (request.size() % 2 == 0) {
        call->respond("reply:" + std::string(request));
        return;
      }
      parked.push_back(call);
      if (parked.size() == 1) {
        runtime::spawn([](std::vector<call_ref>& later) -> runtime::task<void> {
          const int slept = co_await runtime::sleep_for(2ms);
          (void)slept;
          for (auto& c : later) c->respond("late");
          later.clear();
        }(parked));
      }
    });
    const bool ok = co_await runtime::submit_to(connection_shard, [&]() -> runtime::task<bool> {
      service_registry relay = make_relay_registry(home_registry, home);
      session_pair pair(relay);
      std::vector<unary_outcome> outcomes(calls);
      for (int i = 0; i < calls; ++i) {
        pair.client.unary(kRange, std::string(size_t(i), 'x'), record(outcomes[size_t(i)]), {{"token", "secret"}});
      }
      const bool answered = co_await pump_until(pair, [&] {
        return std::all_of(outcomes.begin(), outcomes.end(), [](const unary_outcome& o) { return o.done; });
      });
      EXPECT_TRUE(answered);
      for (int i = 0; i < calls; ++i) {
        const unary_outcome& o = outcomes[size_t(i)];
        EXPECT_TRUE(o.result.ok()) << o.result.message;
        EXPECT_EQ(o.response, i % 2 == 0 ? "reply:" + std::string(size_t(i), 'x') : "late");
      }
      co_return answered;
    });
    EXPECT_TRUE(ok);
    EXPECT_EQ(ran_elsewhere, 0);
    EXPECT_EQ(token, "secret");
    co_await expect_all_relays_freed();
    co_return 0;
  });
  EXPECT_EQ(rc, 0);
}

TEST(CallRelay, ServerStreamingOverManyTurnsEndsWithTheHandlersStatus) {
  const int rc = run_two_shards([]() -> runtime::task<int> {
    service_registry home_registry;
    home_registry.add_request_method(std::string(kSnapshot), [](const call_ref& call, std::string_view) {
      runtime::spawn([](call_ref c) -> runtime::task<void> {
        for (int i = 0; i < 50; ++i) {
          c->write("chunk" + std::to_string(i));
          if (i % 7 == 0) co_await runtime::yield();  // some turns carry several messages, some one
        }
        c->write(big_payload(300'000));
        c->finish({status_code::failed_precondition, "stopped: 100% done"});
      }(call));
    });
    co_await runtime::submit_to(connection_shard, [&]() -> runtime::task<void> {
      service_registry relay = make_relay_registry(home_registry, home);
      session_pair pair(relay);
      streamed_reply reply;
      const auto id = pair.client.start_call(kSnapshot, {[&](std::string_view m) { reply.messages.emplace_back(m); },
                                                         [&](const status& s) { reply.done = s; }});
      pair.client.write(id, "");
      pair.client.close_send(id);
      co_await expect_pumped_until(pair, [&] { return reply.done.has_value(); });
      EXPECT_EQ(reply.messages.size(), 51u);
      if (reply.messages.size() == 51u) {
        for (int i = 0; i < 50; ++i) EXPECT_EQ(reply.messages[size_t(i)], "chunk" + std::to_string(i));
        EXPECT_EQ(reply.messages[50], big_payload(300'000));
      }
      EXPECT_TRUE(reply.done && reply.done->code == status_code::failed_precondition);
      EXPECT_TRUE(reply.done && reply.done->message == "stopped: 100% done");
    });
    co_await expect_all_relays_freed();
    co_return 0;
  });
  EXPECT_EQ(rc, 0);
}

TEST(CallRelay, BidirectionalStreamEchoesUntilHalfClose) {
  const int rc = run_two_shards([]() -> runtime::task<int> {
    service_registry home_registry;
    home_registry.add_stream_method(std::string(kWatch), [](const call_ref& call) {
      server_call* raw = call.get();
      call->set_stream_callbacks({[raw](std::string_view m) { raw->write("echo:" + std::string(m)); },
                                  [raw] { raw->finish(status::success()); },
                                  {}});
    });
    co_await runtime::submit_to(connection_shard, [&]() -> runtime::task<void> {
      service_registry relay = make_relay_registry(home_registry, home);
      session_pair pair(relay);
      std::vector<std::string> messages;
      std::optional<status> done;
      const auto id = pair.client.start_call(kWatch, {[&](std::string_view m) { messages.emplace_back(m); },
                                                      [&](const status& s) { done = s; }});
      pair.client.write(id, "one");
      co_await expect_pumped_until(pair, [&] { return messages.size() == 1; });
      pair.client.write(id, "two");
      pair.client.write(id, big_payload(200'000));
      co_await expect_pumped_until(pair, [&] { return messages.size() == 3; });
      EXPECT_EQ(messages[0], "echo:one");
      EXPECT_EQ(messages[1], "echo:two");
      EXPECT_EQ(messages[2], "echo:" + big_payload(200'000));
      EXPECT_FALSE(done.has_value());
      pair.client.close_send(id);
      co_await expect_pumped_until(pair, [&] { return done.has_value(); });
      EXPECT_TRUE(done && done->ok());
    });
    co_await expect_all_relays_freed();
    co_return 0;
  });
  EXPECT_EQ(rc, 0);
}

TEST(CallRelay, ClientCancelReachesTheHomeHandler) {
  const int rc = run_two_shards([]() -> runtime::task<int> {
    service_registry home_registry;
    call_ref held;
    bool cancelled = false;
    home_registry.add_stream_method(std::string(kWatch), [&](const call_ref& call) {
      held = call;
      call->set_stream_callbacks({{}, {}, [&] { cancelled = true; }});
    });
    co_await runtime::submit_to(connection_shard, [&]() -> runtime::task<void> {
      service_registry relay = make_relay_registry(home_registry, home);
      session_pair pair(relay);
      std::optional<status> done;
      const auto id = pair.client.start_call(kWatch, {{}, [&](const status& s) { done = s; }});
      co_await expect_home_holds(pair, held);
      pair.client.cancel(id);
      co_await expect_pumped_until(pair, [&] { return done.has_value(); });
      EXPECT_TRUE(done && done->code == status_code::cancelled);
    });
    co_await expect_cancelled_and_detached(cancelled, held);
    co_return 0;
  });
  EXPECT_EQ(rc, 0);
}

// The home shard keeps its call_ref after the connection is gone: the call is cancelled, refuses
// output, and is freed when the handler lets go.
TEST(CallRelay, HomeCallOutlivesTheConnection) {
  const int rc = run_two_shards([]() -> runtime::task<int> {
    service_registry home_registry;
    call_ref held;
    bool cancelled = false;
    home_registry.add_request_method(std::string(kRange), [&](const call_ref& call, std::string_view) {
      held = call;
      call->set_cancel_callback([&] { cancelled = true; });
    });
    co_await runtime::submit_to(connection_shard, [&]() -> runtime::task<void> {
      service_registry relay = make_relay_registry(home_registry, home);
      unary_outcome outcome;
      {
        session_pair pair(relay);
        pair.client.unary(kRange, "x", record(outcome));
        co_await expect_home_holds(pair, held);
      }  // the connection is gone
      EXPECT_EQ(outcome.result.code, status_code::unavailable);
    });
    co_await expect_cancelled_and_detached(cancelled, held);
    co_return 0;
  });
  EXPECT_EQ(rc, 0);
}

// The home side finishes and forgets the call while the connection stays open: the relay ends go, the
// connection's session keeps working and later closes without touching them.
TEST(CallRelay, ConnectionOutlivesTheHomeCall) {
  const int rc = run_two_shards([]() -> runtime::task<int> {
    service_registry home_registry;
    home_registry.add_stream_method(std::string(kWatch), [](const call_ref& call) {
      call->write("hello");
      call->finish({status_code::unavailable, "going away"});
    });
    home_registry.add_request_method(std::string(kRange), [](const call_ref& call, std::string_view) {
      call->respond("still here");
    });
    co_await runtime::submit_to(connection_shard, [&]() -> runtime::task<void> {
      service_registry relay = make_relay_registry(home_registry, home);
      session_pair pair(relay);
      std::vector<std::string> messages;
      std::optional<status> done;
      const auto id = pair.client.start_call(kWatch, {[&](std::string_view m) { messages.emplace_back(m); },
                                                      [&](const status& s) { done = s; }});
      co_await expect_pumped_until(pair, [&] { return done.has_value(); });
      EXPECT_EQ(messages, std::vector<std::string>{"hello"});
      EXPECT_TRUE(done && done->code == status_code::unavailable);
      pair.client.write(id, "ignored");  // the stream is over: nothing reaches a freed end
      pair.pump();
      const auto freed_deadline = runtime::clock::now() + wait_limit;
      while (live_relay_ends() > 0 && runtime::clock::now() < freed_deadline) {
        pair.pump();
        const int slept = co_await runtime::sleep_for(100us);
        (void)slept;
      }
      EXPECT_EQ(live_relay_ends(), 0u);
      unary_outcome later;
      pair.client.unary(kRange, "", record(later));
      co_await expect_pumped_until(pair, [&] { return later.done; });
      EXPECT_EQ(later.response, "still here");
    });
    co_await expect_all_relays_freed();
    co_return 0;
  });
  EXPECT_EQ(rc, 0);
}

// The home side finishes in the same moment the client cancels: the final messages cross.
TEST(CallRelay, FinishAndCancelCrossing) {
  const int rc = run_two_shards([]() -> runtime::task<int> {
    service_registry home_registry;
    std::vector<call_ref> held;
    home_registry.add_stream_method(std::string(kWatch), [&](const call_ref& call) {
      held.push_back(call);
      call->set_stream_callbacks({{}, {}, [] {}});
    });
    co_await runtime::submit_to(connection_shard, [&]() -> runtime::task<void> {
      service_registry relay = make_relay_registry(home_registry, home);
      session_pair pair(relay);
      std::vector<client_call_id> ids;
      int done = 0;
      for (int i = 0; i < streams; ++i) ids.push_back(pair.client.start_call(kWatch, {{}, [&](const status&) { ++done; }}));
      size_t opened = 0;
      for (int i = 0; i < 1000 && opened < size_t(streams); ++i) {
        pair.pump();
        opened = co_await runtime::submit_to(home, [&] { return held.size(); });
      }
      EXPECT_EQ(opened, size_t(streams));
      // The home shard finishes every call now; this shard cancels them in the same instant.
      runtime::post_to(home, [&] {
        for (auto& c : held) c->finish(status::success());
      });
      for (auto id : ids) pair.client.cancel(id);
      co_await expect_pumped_until(pair, [&] { return done == streams; });
    });
    co_await expect_all_relays_freed();
    held.clear();
    co_return 0;
  });
  EXPECT_EQ(rc, 0);
}

// A handler that writes only while queued_output_bytes() is under its limit stops when the
// connection's shard does not drain (the backlog counts bytes in flight and queued there), and its
// drain callback resumes it when the client reads: everything arrives, in order.
TEST(CallRelay, BacklogOnTheConnectionShardPacesTheHomeHandler) {
  const int rc = run_two_shards([]() -> runtime::task<int> {
    service_registry home_registry;
    int drains = 0;
    int sent = 0;
    size_t queued_when_paused = 0;
    home_registry.add_request_method(std::string(kSnapshot), [&](const call_ref& call, std::string_view) {
      server_call* raw = call.get();
      auto send_more = [raw, &sent, &queued_when_paused] {
        if (!raw->alive()) return;
        while (sent < chunks && raw->queued_output_bytes() < queued_bytes_limit) {
          raw->write(big_payload(chunk_bytes) + std::to_string(sent++));
        }
        if (sent == chunks) raw->finish(status::success());
        else queued_when_paused = raw->queued_output_bytes();
      };
      call->set_drain_callback([send_more, &drains] {
        ++drains;
        send_more();
      });
      send_more();
      // Like the watch pump after every applied batch: also retry on a timer, so only the counted
      // backlog (not the drain callback alone) can hold the handler back.
      runtime::spawn([](call_ref c, std::function<void()> retry) -> runtime::task<void> {
        while (c->alive()) {
          retry();
          const int slept = co_await runtime::sleep_for(1ms);
          if (slept != 0) break;
        }
      }(call, send_more));
    });
    co_await runtime::submit_to(connection_shard, [&]() -> runtime::task<void> {
      service_registry relay = make_relay_registry(home_registry, home);
      client_options small_windows;
      small_windows.stream_window_bytes = 64 * 1024;  // the client reads slowly: HTTP/2 holds the rest
      small_windows.connection_window_bytes = 64 * 1024;
      session_pair pair(relay, {}, small_windows);
      streamed_reply reply;
      const auto id = pair.client.start_call(kSnapshot, {[&](std::string_view m) { reply.messages.emplace_back(m); },
                                                         [&](const status& s) { reply.done = s; }});
      pair.client.write(id, "");
      pair.client.close_send(id);
      pair.pump();
      // Nobody reads for a while: the home side must stop near its limit.
      const int slept = co_await runtime::sleep_for(50ms);
      (void)slept;
      const int sent_while_stalled = co_await runtime::submit_to(home, [&] { return sent; });
      EXPECT_LE(size_t(sent_while_stalled) * chunk_bytes, queued_bytes_limit + chunk_bytes);
      EXPECT_LT(sent_while_stalled, chunks);
      co_await expect_pumped_until(pair, [&] { return reply.done.has_value(); });
      EXPECT_EQ(reply.messages.size(), size_t(chunks));
      for (size_t i = 0; i < reply.messages.size(); ++i) {
        EXPECT_EQ(reply.messages[i], big_payload(chunk_bytes) + std::to_string(i));
      }
      EXPECT_TRUE(reply.done && reply.done->ok());
    });
    EXPECT_GE(queued_when_paused, queued_bytes_limit);
    EXPECT_GT(drains, 3);  // it really paused and resumed
    co_await expect_all_relays_freed();
    co_return 0;
  });
  EXPECT_EQ(rc, 0);
}


// Not a speed assertion: prints what one relayed unary call costs each shard (thread CPU time), next to
// the same calls served by a session on the home shard itself. Checks only that every call is answered.
double thread_cpu_us() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return double(now.tv_sec) * 1e6 + double(now.tv_nsec) / 1e3;
}

constexpr int figure_rounds = 200;
constexpr int figure_calls_per_round = 64;

// Runs rounds of concurrent unary calls on `pair` (on this shard); returns the number answered.
runtime::task<int> run_unary_rounds(session_pair& pair) {
  int answered = 0;
  for (int round = 0; round < figure_rounds; ++round) {
    std::vector<unary_outcome> outcomes(figure_calls_per_round);
    for (auto& outcome : outcomes) pair.client.unary(kRange, "0123456789abcdef", record(outcome));
    const bool all = co_await pump_until(pair, [&] {
      return std::all_of(outcomes.begin(), outcomes.end(), [](const unary_outcome& o) { return o.done; });
    });
    if (!all) break;
    answered += figure_calls_per_round;
  }
  co_return answered;
}

TEST(CallRelayFigures, CpuPerRelayedUnaryCall) {
  const int rc = run_two_shards([]() -> runtime::task<int> {
    service_registry home_registry;
    home_registry.add_request_method(std::string(kRange), [](const call_ref& call, std::string_view request) {
      call->respond(request);
    });
    constexpr int total = figure_rounds * figure_calls_per_round;
    // Local: client and server session on the home shard (the session's own cost, for reference).
    double local_us = 0;
    {
      session_pair pair(home_registry);
      const double start = thread_cpu_us();
      const int answered = co_await run_unary_rounds(pair);
      local_us = (thread_cpu_us() - start) / total;
      EXPECT_EQ(answered, total);
    }
    // Relayed: the same calls from a connection on shard 1; shard 0 only runs the handler side.
    const double home_start = thread_cpu_us();
    const double connection_us = co_await runtime::submit_to(connection_shard, [&]() -> runtime::task<double> {
      service_registry relay = make_relay_registry(home_registry, home);
      session_pair pair(relay);
      const double start = thread_cpu_us();
      const int answered = co_await run_unary_rounds(pair);
      EXPECT_EQ(answered, total);
      co_return (thread_cpu_us() - start) / total;
    });
    const double home_us = (thread_cpu_us() - home_start) / total;
    std::printf("unary call, %d calls in rounds of %d: local (client+server sessions on one shard) %.2f us; "
                "relayed: connection shard (client+server sessions + relay) %.2f us, home shard %.2f us\n",
                total, figure_calls_per_round, local_us, connection_us, home_us);
    const bool freed = co_await all_relays_freed();
    EXPECT_TRUE(freed);
    co_return 0;
  });
  EXPECT_EQ(rc, 0);
}
}  // namespace
}  // namespace ringkv::net::grpc
