// net/grpc/local_call: in-process calls on a service_registry without HTTP/2. Checked: unary and
// server-streaming replies with their status, bidi messages both ways with half-close, cancel from the
// caller (the handler hears it, its call refuses output) and from the handler (a non-ok finish),
// request-method misuse and unknown methods (grpc-go's statuses), metadata, the awaitable wait(),
// backpressure (unpopped bytes count in queued_output_bytes() and pop() runs the drain callback), and
// the same calls through a relay registry on a second shard of a real runtime.
#include "net/grpc/local_call.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "net/grpc/call_relay.h"
#include "runtime/reactor.h"
#include "runtime/smp.h"
#include "runtime/spawn.h"
#include "runtime/timer.h"
#include "tests/grpc/relay_test_constants.h"

namespace ringkv::net::grpc {
namespace {

using namespace std::chrono_literals;

using namespace relay_test;
constexpr int chunks = 40;
constexpr size_t chunk_bytes = 64 * 1024;
constexpr size_t queued_bytes_limit = 256 * 1024;

// Pops every message now queued.
std::vector<std::string> take_all(local_call& call) {
  std::vector<std::string> messages;
  while (auto message = call.front()) {
    messages.emplace_back(*message);
    call.pop();
  }
  return messages;
}

// A registry with an echoing unary method, a streaming snapshot and an echoing bidi watch.
struct echo_services {
  service_registry registry;
  std::string token;  // metadata "token" of the last call
  echo_services() {
    registry.add_request_method(std::string(kRange), [this](const call_ref& call, std::string_view request) {
      token = call->metadata("token");
      call->respond("reply:" + std::string(request));
    });
    registry.add_request_method(std::string(kSnapshot), [](const call_ref& call, std::string_view) {
      for (int i = 0; i < 3; ++i) call->write("chunk" + std::to_string(i));
      call->finish({status_code::failed_precondition, "stopped"});
    });
    registry.add_stream_method(std::string(kWatch), [](const call_ref& call) {
      server_call* raw = call.get();
      call->write("hello");
      call->set_stream_callbacks({[raw](std::string_view m) { raw->write("echo:" + std::string(m)); },
                                  [raw] { raw->finish(status::success()); },
                                  {}});
    });
  }
};

TEST(LocalCall, UnaryReplyThenStatusWithMetadata) {
  echo_services services;
  local_call call(services.registry, kRange, {{"token", "secret"}});
  EXPECT_TRUE(call.send("abc"));
  EXPECT_FALSE(call.ended());
  EXPECT_TRUE(call.half_close());
  EXPECT_EQ(services.token, "secret");
  EXPECT_FALSE(call.ended());  // the reply is not popped yet
  EXPECT_EQ(take_all(call), std::vector<std::string>{"reply:abc"});
  EXPECT_TRUE(call.ended());
  EXPECT_TRUE(call.result().ok());
  EXPECT_FALSE(call.send("late"));
}

TEST(LocalCall, ServerStreamingMessagesThenTheHandlersStatus) {
  echo_services services;
  local_call call(services.registry, kSnapshot);
  call.send("");
  call.half_close();
  EXPECT_EQ(take_all(call), (std::vector<std::string>{"chunk0", "chunk1", "chunk2"}));
  ASSERT_TRUE(call.ended());
  EXPECT_EQ(call.result().code, status_code::failed_precondition);
  EXPECT_EQ(call.result().message, "stopped");
}

TEST(LocalCall, BidiMessagesBothWaysUntilHalfClose) {
  echo_services services;
  local_call call(services.registry, kWatch);
  EXPECT_EQ(take_all(call), std::vector<std::string>{"hello"});  // written when the stream opened
  EXPECT_TRUE(call.send("one"));
  EXPECT_TRUE(call.send(std::string(100'000, 'x')));
  EXPECT_EQ(take_all(call), (std::vector<std::string>{"echo:one", "echo:" + std::string(100'000, 'x')}));
  EXPECT_FALSE(call.ended());
  EXPECT_TRUE(call.half_close());
  EXPECT_FALSE(call.send("after half-close"));
  EXPECT_TRUE(call.ended());
  EXPECT_TRUE(call.result().ok());
}

TEST(LocalCall, RequestMethodsTakeExactlyOneMessage) {
  echo_services services;
  {
    local_call call(services.registry, kRange);
    call.half_close();
    ASSERT_TRUE(call.ended());
    EXPECT_EQ(call.result().code, status_code::internal);
    EXPECT_EQ(call.result().message, "grpc: the client sent no request message");
  }
  {
    local_call call(services.registry, kRange);
    EXPECT_TRUE(call.send("a"));
    EXPECT_FALSE(call.send("b"));
    ASSERT_TRUE(call.ended());
    EXPECT_EQ(call.result().code, status_code::internal);
    EXPECT_EQ(call.result().message, "grpc: received more than one request message for /etcdserverpb.KV/Range");
  }
}

TEST(LocalCall, UnknownMethodsGetGrpcGosStatuses) {
  echo_services services;
  local_call method(services.registry, "/etcdserverpb.KV/Nope");
  ASSERT_TRUE(method.ended());
  EXPECT_EQ(method.result().code, status_code::unimplemented);
  EXPECT_EQ(method.result().message, "unknown method Nope for service etcdserverpb.KV");
  EXPECT_FALSE(method.send("x"));
  local_call service(services.registry, "/etcdserverpb.Nope/Get");
  ASSERT_TRUE(service.ended());
  EXPECT_EQ(service.result().code, status_code::unimplemented);
  EXPECT_EQ(service.result().message, "unknown service etcdserverpb.Nope");
}

// A stream handler that keeps its call and records its cancellation.
struct held_stream {
  service_registry registry;
  call_ref held;
  int cancels = 0;
  held_stream() {
    registry.add_stream_method(std::string(kWatch), [this](const call_ref& call) {
      held = call;
      call->write("queued, never popped");
      call->set_stream_callbacks({{}, {}, [this] { ++cancels; }});
    });
  }
};

TEST(LocalCall, CancelByTheCallerReachesTheHandler) {
  held_stream services;
  local_call call(services.registry, kWatch);
  ASSERT_TRUE(services.held);
  EXPECT_GT(services.held->queued_output_bytes(), 0u);
  call.cancel();
  EXPECT_EQ(services.cancels, 1);
  EXPECT_FALSE(services.held->alive());
  EXPECT_FALSE(services.held->write("too late"));
  EXPECT_EQ(services.held->queued_output_bytes(), 0u);  // dropped
  ASSERT_TRUE(call.ended());
  EXPECT_EQ(call.result().code, status_code::cancelled);
  call.cancel();
  EXPECT_EQ(services.cancels, 1);
}

TEST(LocalCall, DestroyingAnOpenCallCancelsIt) {
  held_stream services;
  { local_call call(services.registry, kWatch); }
  EXPECT_EQ(services.cancels, 1);
  ASSERT_TRUE(services.held);
  EXPECT_FALSE(services.held->alive());
  EXPECT_FALSE(services.held->finish(status::success()));
}

TEST(LocalCall, TheHandlerEndsTheCallFirst) {
  held_stream services;
  local_call call(services.registry, kWatch);
  services.held->finish({status_code::cancelled, "watch cancelled by the server"});
  EXPECT_FALSE(call.send("ignored"));
  EXPECT_EQ(take_all(call), std::vector<std::string>{"queued, never popped"});
  ASSERT_TRUE(call.ended());
  EXPECT_EQ(call.result().code, status_code::cancelled);
  EXPECT_EQ(call.result().message, "watch cancelled by the server");
  call.cancel();  // after the finish: the handler is not told
  EXPECT_EQ(services.cancels, 0);
  EXPECT_EQ(call.result().message, "watch cancelled by the server");
}

// A snapshot-like handler: writes while queued_output_bytes() is under its limit, resumes from its
// drain callback.
struct paced_stream {
  service_registry registry;
  int sent = 0;
  int drains = 0;
  size_t queued_max_bytes = 0;  // the most the handler saw queued when it paused
  paced_stream() {
    registry.add_request_method(std::string(kSnapshot), [this](const call_ref& call, std::string_view) {
      server_call* raw = call.get();
      auto send_more = [this, raw] {
        if (!raw->alive()) return;
        while (sent < chunks && raw->queued_output_bytes() < queued_bytes_limit) {
          raw->write(std::string(chunk_bytes, char('a' + sent % 26)));
          ++sent;
        }
        queued_max_bytes = std::max(queued_max_bytes, raw->queued_output_bytes());
        if (sent == chunks) raw->finish(status::success());
      };
      call->set_drain_callback([this, send_more] {
        ++drains;
        send_more();
      });
      send_more();
    });
  }
};

TEST(LocalCall, UnpoppedBytesHoldTheHandlerBackAndPopDrains) {
  paced_stream services;
  local_call call(services.registry, kSnapshot);
  call.send("");
  call.half_close();
  const int sent_before_reading = services.sent;
  EXPECT_LT(sent_before_reading, chunks);
  EXPECT_GE(call.queued_bytes(), queued_bytes_limit);
  EXPECT_LE(call.queued_bytes(), queued_bytes_limit + chunk_bytes + message_prefix_bytes);
  int received = 0;
  while (!call.ended()) {
    auto message = call.front();
    ASSERT_TRUE(message.has_value());
    EXPECT_EQ(*message, std::string(chunk_bytes, char('a' + received % 26)));
    ++received;
    call.pop();
  }
  EXPECT_EQ(received, chunks);
  EXPECT_TRUE(call.result().ok());
  EXPECT_GT(services.drains, 3);
}

// --- on a runtime: the awaitable side, and a relay registry on a second shard ---------------------

int run_two_shards(std::function<runtime::task<int>()> main) {
  runtime::reactor_config config;
  config.shards = 2;
  config.handle_signals = false;
  return runtime::run(config, std::move(main));
}

// Pops messages as they come until the call ended (or the time limit), reading slowly when `pace` is set.
runtime::task<std::vector<std::string>> read_to_end(local_call& call, std::chrono::microseconds pace = 0us) {
  std::vector<std::string> messages;
  const auto deadline = runtime::clock::now() + wait_limit;
  while (!call.ended() && runtime::clock::now() < deadline) {
    if (auto message = call.front()) {
      messages.emplace_back(*message);
      call.pop();
      if (pace > 0us) co_await runtime::sleep_for(pace);
      continue;
    }
    co_await call.wait();
  }
  EXPECT_TRUE(call.ended()) << "timed out";
  co_return messages;
}

TEST(LocalCall, WaitResumesWhenALaterReplyArrives) {
  const int rc = run_two_shards([]() -> runtime::task<int> {
    service_registry registry;
    registry.add_request_method(std::string(kRange), [](const call_ref& call, std::string_view request) {
      runtime::spawn([](call_ref c, std::string r) -> runtime::task<void> {
        co_await runtime::sleep_for(2ms);
        c->respond("late:" + r);
      }(call, std::string(request)));
    });
    local_call call(registry, kRange);
    call.send("x");
    call.half_close();
    const auto messages = co_await read_to_end(call);
    EXPECT_EQ(messages, std::vector<std::string>{"late:x"});
    EXPECT_TRUE(call.result().ok());
    co_return 0;
  });
  EXPECT_EQ(rc, 0);
}

// Waits until no relay end is left on either shard. Call on the home shard.
runtime::task<void> expect_all_relays_freed() {
  const auto deadline = runtime::clock::now() + wait_limit;
  while (true) {
    const size_t remote = co_await runtime::submit_to(connection_shard, [] { return live_relay_ends(); });
    if (remote == 0 && live_relay_ends() == 0) co_return;
    if (runtime::clock::now() >= deadline) break;
    co_await runtime::sleep_for(200us);
  }
  ADD_FAILURE() << "relay ends left";
}

TEST(LocalCall, ThroughARelayRegistryOnAnotherShard) {
  const int rc = run_two_shards([]() -> runtime::task<int> {
    echo_services services;
    int ran_elsewhere = 0;
    services.registry.add_request_method("/etcdserverpb.KV/Put", [&](const call_ref& call, std::string_view) {
      if (runtime::this_shard() != home) ++ran_elsewhere;
      call->respond("put");
    });
    co_await runtime::submit_to(connection_shard, [&]() -> runtime::task<void> {
      service_registry relay = make_relay_registry(services.registry, home);
      {
        local_call unary(relay, kRange, {{"token", "relayed"}});
        unary.send("abc");
        unary.half_close();
        const auto unary_messages = co_await read_to_end(unary);
        EXPECT_EQ(unary_messages, std::vector<std::string>{"reply:abc"});
        EXPECT_TRUE(unary.result().ok());
      }
      {
        local_call put(relay, "/etcdserverpb.KV/Put");
        put.send("");
        put.half_close();
        const auto put_messages = co_await read_to_end(put);
        EXPECT_EQ(put_messages, std::vector<std::string>{"put"});
      }
      {
        local_call snapshot(relay, kSnapshot);
        snapshot.send("");
        snapshot.half_close();
        const auto snapshot_messages = co_await read_to_end(snapshot);
        EXPECT_EQ(snapshot_messages, (std::vector<std::string>{"chunk0", "chunk1", "chunk2"}));
        EXPECT_EQ(snapshot.result().code, status_code::failed_precondition);
      }
      {
        local_call watch(relay, kWatch);
        watch.send("one");
        watch.send("two");
        watch.half_close();
        const auto watch_messages = co_await read_to_end(watch);
        EXPECT_EQ(watch_messages, (std::vector<std::string>{"hello", "echo:one", "echo:two"}));
        EXPECT_TRUE(watch.result().ok());
      }
      {
        local_call unknown(relay, "/etcdserverpb.KV/Nope");
        EXPECT_TRUE(unknown.ended());
        EXPECT_EQ(unknown.result().message, "unknown method Nope for service etcdserverpb.KV");
      }
    });
    EXPECT_EQ(services.token, "relayed");
    EXPECT_EQ(ran_elsewhere, 0);
    co_await expect_all_relays_freed();
    co_return 0;
  });
  EXPECT_EQ(rc, 0);
}

TEST(LocalCall, CancelThroughARelayReachesTheHomeHandler) {
  const int rc = run_two_shards([]() -> runtime::task<int> {
    held_stream services;
    co_await runtime::submit_to(connection_shard, [&]() -> runtime::task<void> {
      service_registry relay = make_relay_registry(services.registry, home);
      local_call watch(relay, kWatch);
      // The first message proves the home handler runs.
      while (!watch.front()) co_await watch.wait();
      EXPECT_EQ(*watch.front(), "queued, never popped");
      watch.cancel();
      EXPECT_EQ(watch.result().code, status_code::cancelled);
    });
    co_await expect_all_relays_freed();
    EXPECT_EQ(services.cancels, 1);
    EXPECT_FALSE(services.held->alive());
    services.held = call_ref();
    co_return 0;
  });
  EXPECT_EQ(rc, 0);
}

TEST(LocalCall, ASlowCallerPacesAHandlerOnTheHomeShard) {
  const int rc = run_two_shards([]() -> runtime::task<int> {
    paced_stream services;
    co_await runtime::submit_to(connection_shard, [&]() -> runtime::task<void> {
      service_registry relay = make_relay_registry(services.registry, home);
      local_call snapshot(relay, kSnapshot);
      snapshot.send("");
      snapshot.half_close();
      co_await runtime::sleep_for(20ms);  // nobody reads: the home side must stop near its limit
      const int sent_while_stalled = co_await runtime::submit_to(home, [&] { return services.sent; });
      EXPECT_LT(sent_while_stalled, chunks);
      EXPECT_LE(size_t(sent_while_stalled) * chunk_bytes, queued_bytes_limit + chunk_bytes);
      const auto messages = co_await read_to_end(snapshot, 100us);
      EXPECT_EQ(messages.size(), size_t(chunks));
      EXPECT_TRUE(snapshot.result().ok());
    });
    EXPECT_GE(services.queued_max_bytes, queued_bytes_limit);
    EXPECT_GT(services.drains, 3);
    co_await expect_all_relays_freed();
    co_return 0;
  });
  EXPECT_EQ(rc, 0);
}

}  // namespace
}  // namespace ringkv::net::grpc
