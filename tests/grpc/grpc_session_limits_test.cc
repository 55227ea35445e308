// The gRPC server session's limits and timers, played byte by byte by a raw HTTP/2 client: grpc-go's
// ping policy (strikes, GOAWAY ENHANCE_YOUR_CALM "too_many_pings", strikes cleared by our HEADERS and
// DATA), keepalive (a PING after the idle interval, the connection dropped when nothing answers), a
// unary request that never ends (RST_STREAM CANCEL after request_end_timeout; streams are exempt; an
// unfinished header block closes the connection), the per-connection memory bound (streams refused,
// partly received requests answered ResourceExhausted), and the deframer growing with the bytes that
// arrived instead of the length a client declares.
#include "net/grpc/grpc_server_session.h"
#include "tests/grpc/raw_h2.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ringkv::net::grpc {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

constexpr std::string_view kRange = "/etcdserverpb.KV/Range";
constexpr std::string_view kWatch = "/etcdserverpb.Watch/Watch";
const std::string kPingPayload(8, 'p');

// A server whose Range answers at once and whose Watch streams are held open.
struct limits_fixture {
  explicit limits_fixture(server_limits limits = {}) {
    registry.add_request_method(std::string(kRange), [this](const call_ref& call, std::string_view) {
      ++ranges;
      call->respond("ok");
    });
    registry.add_stream_method(std::string(kWatch), [this](const call_ref& call) { held.push_back(call); });
    server.emplace(registry, limits);
    feed(client_preface() + frame(kSettings, kAck, 0, ""));
  }

  // Feeds bytes, lets the server write, and keeps what it wrote in `written`.
  session_verdict feed(std::string_view bytes) {
    verdict = feed_string(*server, bytes);
    if (verdict == session_verdict::open) verdict = server->produce_output();
    take_output();
    return verdict;
  }
  session_verdict timer(steady::time_point now) {
    verdict = server->on_timer(now);
    if (verdict == session_verdict::open) verdict = server->produce_output();
    take_output();
    return verdict;
  }
  void take_output() {
    const auto out = server->pending_output();
    written.append(reinterpret_cast<const char*>(out.data()), out.size());
    server->consume_output(out.size());
  }
  std::vector<raw_frame> frames() const {
    return parse_frames({reinterpret_cast<const uint8_t*>(written.data()), written.size()});
  }
  size_t count(uint8_t type, uint8_t flags_mask = 0, uint8_t flags = 0) const {
    size_t n = 0;
    for (const auto& f : frames()) n += f.type == type && (f.flags & flags_mask) == flags;
    return n;
  }

  service_registry registry;
  std::vector<call_ref> held;
  int ranges = 0;
  std::optional<grpc_server_session> server;
  std::string written;
  session_verdict verdict = session_verdict::open;
};

std::string ping() { return frame(kPing, 0, 0, kPingPayload); }

std::string unary_range(uint32_t id) {
  return frame(kHeaders, kEndHeaders, id, request_block(kRange)) + frame(kData, kEndStream, id, grpc_message(""));
}

// ---- ping policy ---------------------------------------------------------------------------------

TEST(GrpcPingPolicy, PingsTooOftenWithoutCallsGetTooManyPings) {
  limits_fixture test;
  // The first PING is free; each later one within 2 h (no call open) is a strike; the third strike
  // past ping_strikes_max (2) ends the connection.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(test.feed(ping()), session_verdict::open) << i;
  test.feed(ping());
  EXPECT_NE(test.verdict, session_verdict::open);
  bool goaway = false;
  for (const auto& f : test.frames()) {
    if (f.type != kGoaway) continue;
    goaway = true;
    ASSERT_GE(f.payload.size(), 8u);
    EXPECT_EQ(f.payload.substr(4, 4), std::string("\0\0\0\x0b", 4));  // ENHANCE_YOUR_CALM
    EXPECT_EQ(f.payload.substr(8), "too_many_pings");
  }
  EXPECT_TRUE(goaway);
  EXPECT_EQ(test.server->close_reason(), "got too many pings from the client");
  EXPECT_GE(test.count(kPing, kAck, kAck), 3u);  // PINGs are still answered
}

TEST(GrpcPingPolicy, PingsWhileCallsAreOpenFollowMinTime) {
  server_limits limits;
  limits.ping_min_interval = 0ms;  // --grpc-keepalive-min-time 0 would be grpc-go's 5 min; 0 here: any pace
  limits_fixture test(limits);
  test.feed(frame(kHeaders, kEndHeaders, 1, request_block(kWatch)));
  ASSERT_EQ(test.held.size(), 1u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(test.feed(ping()), session_verdict::open) << i;
  EXPECT_EQ(test.count(kGoaway), 0u);
}

TEST(GrpcPingPolicy, HeadersAndDataWeSendClearTheStrikes) {
  limits_fixture test;
  // A client pinging after each reply (as grpc's BDP estimator does) is never struck out.
  for (uint32_t id = 1; id < 20; id += 2) {
    EXPECT_EQ(test.feed(unary_range(id)), session_verdict::open);
    EXPECT_EQ(test.feed(ping()), session_verdict::open);
  }
  EXPECT_EQ(test.ranges, 10);
  EXPECT_EQ(test.count(kGoaway), 0u);
}

// ---- keepalive -----------------------------------------------------------------------------------

server_limits keepalive_limits() {
  server_limits limits;
  limits.keepalive_interval = 1s;
  limits.keepalive_timeout = 1s;
  return limits;
}

TEST(GrpcKeepalive, IdleConnectionIsPingedThenDroppedWhenNothingAnswers) {
  const auto start = steady::now();
  limits_fixture test(keepalive_limits());
  EXPECT_LE(test.server->next_deadline(), steady::now() + 1s);
  // The preface was read during the first interval: no PING yet, the next step is an interval later.
  EXPECT_EQ(test.timer(start + 2s), session_verdict::open);
  EXPECT_EQ(test.count(kPing, kAck, 0), 0u);
  EXPECT_EQ(test.server->next_deadline(), start + 3s);
  // Nothing read in that interval: a PING goes out.
  EXPECT_EQ(test.timer(start + 3s), session_verdict::open);
  EXPECT_EQ(test.count(kPing, kAck, 0), 1u);
  EXPECT_EQ(test.server->next_deadline(), start + 4s);
  // Nothing read within the timeout: the connection is dropped.
  EXPECT_EQ(test.server->on_timer(start + 4s), session_verdict::closed);
  EXPECT_EQ(test.server->close_reason(), "keepalive ping not answered");
}

TEST(GrpcKeepalive, AnsweredPingKeepsTheConnection) {
  const auto start = steady::now();
  limits_fixture test(keepalive_limits());
  test.timer(start + 2s);
  test.timer(start + 3s);
  ASSERT_EQ(test.count(kPing, kAck, 0), 1u);
  std::string opaque;
  for (const auto& f : test.frames()) {
    if (f.type == kPing && (f.flags & kAck) == 0) opaque = f.payload;
  }
  EXPECT_EQ(test.feed(frame(kPing, kAck, 0, opaque)), session_verdict::open);
  EXPECT_EQ(test.timer(start + 4s), session_verdict::open);
  EXPECT_EQ(test.timer(start + 5s), session_verdict::open);  // the next interval's ping
  EXPECT_EQ(test.count(kPing, kAck, 0), 2u);
}

// ---- requests that never end ---------------------------------------------------------------------

TEST(GrpcRequestEnd, UnaryRequestWithoutEndStreamIsResetAfterTheTimeout) {
  server_limits limits;
  limits.request_end_timeout = 1s;
  limits_fixture test(limits);
  const auto start = steady::now();
  // Stream 1: a Range whose request message came but END_STREAM never does. Stream 3: a Watch
  // (streaming) opened and idle, as watchers are. Stream 5: a Range completed in time.
  test.feed(frame(kHeaders, kEndHeaders, 1, request_block(kRange)) + frame(kData, 0, 1, grpc_message("")));
  test.feed(frame(kHeaders, kEndHeaders, 3, request_block(kWatch)));
  test.feed(unary_range(5));
  EXPECT_EQ(test.ranges, 1);
  EXPECT_LE(test.server->next_deadline(), start + 2s);
  EXPECT_EQ(test.timer(start + 500ms), session_verdict::open);
  EXPECT_EQ(test.server->requests_timed_out(), 0u);
  EXPECT_EQ(test.timer(steady::now() + 1s), session_verdict::open);
  EXPECT_EQ(test.server->requests_timed_out(), 1u);
  EXPECT_TRUE(has_frame({reinterpret_cast<const uint8_t*>(test.written.data()), test.written.size()}, kRstStream, 1,
                        std::string("\0\0\0\x08", 4)));  // CANCEL
  EXPECT_FALSE(has_frame({reinterpret_cast<const uint8_t*>(test.written.data()), test.written.size()}, kRstStream, 3, ""));
  EXPECT_EQ(test.server->open_calls(), 1u);  // the Watch
  EXPECT_EQ(test.ranges, 1);                 // the unfinished Range never ran
}

TEST(GrpcRequestEnd, UnfinishedHeaderBlockClosesTheConnection) {
  server_limits limits;
  limits.request_end_timeout = 1s;
  limits_fixture test(limits);
  test.feed(frame(kHeaders, 0, 1, kMinimalHeaderBlock));  // no END_HEADERS, and no CONTINUATION follows
  EXPECT_EQ(test.verdict, session_verdict::open);
  test.timer(steady::now() + 2s);
  EXPECT_NE(test.verdict, session_verdict::open);
  EXPECT_EQ(test.count(kGoaway), 1u);
}

// ---- memory per connection -----------------------------------------------------------------------

TEST(GrpcConnectionMemory, StreamsPastTheBoundAreRefused) {
  server_limits limits;
  limits.connection_memory_bytes_limit = 256 * 1024;
  limits.max_concurrent_streams = UINT32_MAX;  // etcd 3.4's default: memory is the bound
  limits_fixture test(limits);
  // 5,000 streams, 100 per read (the server writes its RST_STREAMs between reads, as a connection does).
  for (uint32_t batch = 0; batch < 50; ++batch) {
    std::string bytes;
    for (uint32_t i = 0; i < 100; ++i) bytes += frame(kHeaders, kEndHeaders, 1 + 2 * (batch * 100 + i), request_block(kWatch));
    ASSERT_EQ(test.feed(bytes), session_verdict::open) << batch;
  }
  EXPECT_GT(test.held.size(), 50u);
  EXPECT_LT(test.held.size(), 5000u);
  EXPECT_LE(test.server->held_bytes(), limits.connection_memory_bytes_limit + 16 * 1024);
  size_t refused = 0;
  for (const auto& f : test.frames()) refused += f.type == kRstStream && f.payload == std::string("\0\0\0\x07", 4);
  EXPECT_EQ(refused + test.held.size(), 5000u);
  // Once the held streams end, new ones are accepted again.
  for (const auto& call : test.held) call->finish(status::success());
  test.held.clear();
  test.server->produce_output();  // their trailers go out and the streams close
  test.take_output();
  test.feed(frame(kHeaders, kEndHeaders, 20001, request_block(kWatch)));
  EXPECT_EQ(test.held.size(), 1u);
}

TEST(GrpcConnectionMemory, PartlyReceivedRequestsPastTheBoundGetResourceExhausted) {
  server_limits limits;
  limits.connection_memory_bytes_limit = 1024 * 1024;
  limits_fixture test(limits);
  // Each stream declares a 1.5 MiB request and sends 200 KiB of it (in 16 KiB DATA frames).
  const std::string prefix = grpc_message(std::string(1536 * 1024, 'x')).substr(0, message_prefix_bytes);
  const std::string piece(16 * 1024, 'x');
  for (uint32_t id = 1; id <= 19; id += 2) {
    std::string bytes = frame(kHeaders, kEndHeaders, id, request_block(kRange)) + frame(kData, 0, id, prefix);
    for (int i = 0; i < 12; ++i) bytes += frame(kData, 0, id, piece);
    EXPECT_EQ(test.feed(bytes), session_verdict::open);
    EXPECT_LE(test.server->held_bytes(), limits.connection_memory_bytes_limit + 512 * 1024);
  }
  size_t trailers_only = 0;
  for (const auto& f : test.frames()) trailers_only += f.type == kHeaders && (f.flags & kEndStream) != 0;
  EXPECT_GE(trailers_only, 5u);
  EXPECT_LT(trailers_only, 10u);
  EXPECT_EQ(test.ranges, 0);
  EXPECT_EQ(test.verdict, session_verdict::open);
}

// ---- the deframer ---------------------------------------------------------------------------------

TEST(GrpcDeframer, GrowsWithArrivedBytesNotTheDeclaredLength) {
  message_deframer deframer(4 * 1024 * 1024);
  const std::string whole = grpc_message(std::string(2 * 1024 * 1024, 'y'));
  int messages = 0;
  size_t body_bytes = 0;
  const auto on_message = [&](inbound_message&& m) {
    ++messages;
    body_bytes = m.bytes().size();
  };
  ASSERT_EQ(deframer.feed(std::string_view(whole).substr(0, 10), on_message), message_deframer::outcome::ok);
  EXPECT_LT(deframer.buffered_capacity(), 4096u);  // not the declared 2 MiB
  for (size_t at = 10; at < whole.size(); at += 16384) {
    ASSERT_EQ(deframer.feed(std::string_view(whole).substr(at, 16384), on_message), message_deframer::outcome::ok);
    if (messages == 0) {
      EXPECT_LE(deframer.buffered_capacity(), 2 * (at + 16384) + 64);
    }
  }
  EXPECT_EQ(messages, 1);
  EXPECT_EQ(body_bytes, 2u * 1024 * 1024);
}

}  // namespace
}  // namespace ringkv::net::grpc
