// The gRPC server session against the gRPC client session over in-memory byte pipes: unary,
// server-streaming and bidirectional calls, trailers-only errors, etcd's error texts for unknown
// methods and oversized messages, asynchronous replies, cancellation, and the HTTP/2 abuse defenses
// that must close the offending connection.
#include "net/grpc/grpc_client_session.h"
#include "net/grpc/grpc_server_session.h"
#include "net/grpc/protocol_detect.h"
#include "tests/grpc/raw_h2.h"
#include "tests/grpc/session_pair.h"

#include <gtest/gtest.h>

#include <memory>
#include <algorithm>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace ringkv::net::grpc {
namespace {

constexpr std::string_view kRange = "/etcdserverpb.KV/Range";
constexpr std::string_view kSnapshot = "/etcdserverpb.Maintenance/Snapshot";
constexpr std::string_view kWatch = "/etcdserverpb.Watch/Watch";

// Calls a server-streaming method with one empty request and collects what comes back.
void call_server_streaming(session_pair& pair, std::string_view path, streamed_reply& reply) {
  const auto id = pair.client.start_call(
      path, {[&reply](std::string_view m) { reply.messages.emplace_back(m); },
             [&reply](const status& s) { reply.done = s; }});
  pair.client.write(id, "");
  pair.client.close_send(id);
  pair.pump();
}

TEST(GrpcSession, UnaryCallEchoesAndSeesMetadata) {
  service_registry registry;
  std::string seen_token;
  std::optional<std::chrono::nanoseconds> seen_timeout;
  registry.add_request_method(std::string(kRange), [&](const call_ref& call, std::string_view request) {
    seen_token = call->metadata("token");
    seen_timeout = call->timeout();
    EXPECT_EQ(call->path(), kRange);
    call->respond("reply:" + std::string(request));
  });
  session_pair pair(registry);
  unary_outcome outcome;
  pair.client.unary(kRange, "foo", record(outcome), {{"token", "secret"}, {"grpc-timeout", "1500m"}});
  pair.pump();
  ASSERT_TRUE(outcome.done);
  EXPECT_TRUE(outcome.result.ok()) << outcome.result.message;
  EXPECT_EQ(outcome.response, "reply:foo");
  EXPECT_EQ(seen_token, "secret");
  EXPECT_EQ(seen_timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(pair.server.open_calls(), 0u);
  EXPECT_EQ(pair.server_verdict, session_verdict::open);
}

// The TLS client certificate's CN set on the connection's session reaches every later call, and no
// request header can pose as it (names starting with ':' never enter a call's metadata).
TEST(GrpcSession, CallsCarryTheConnectionsClientCertificateCn) {
  service_registry registry;
  std::vector<std::string> seen;
  registry.add_request_method(std::string(kRange), [&](const call_ref& call, std::string_view) {
    seen.emplace_back(call->client_cert_cn());
    call->respond("ok");
  });
  session_pair pair(registry);
  unary_outcome before;
  pair.client.unary(kRange, "a", record(before), {{"tls-client-cn", "forged"}});
  pair.pump();
  pair.server.set_client_cert_cn("root");
  unary_outcome after;
  pair.client.unary(kRange, "b", record(after), {{"tls-client-cn", "forged"}});
  pair.pump();
  ASSERT_TRUE(before.done && after.done);
  EXPECT_TRUE(after.result.ok()) << after.result.message;
  EXPECT_EQ(seen, (std::vector<std::string>{"", "root"}));
}

TEST(GrpcSession, RequestWhoseEndStreamArrivesInALaterFeedIsKept) {
  service_registry registry;
  std::string seen;
  registry.add_request_method(std::string(kRange), [&](const call_ref& call, std::string_view request) {
    seen = request;
    call->respond("ok");
  });
  session_pair pair(registry);
  std::optional<status> done;
  const auto id = pair.client.start_call(kRange, {{}, [&](const status& s) { done = s; }});
  pair.client.write(id, "the-request-bytes");
  // Feed HEADERS + DATA from a buffer of our own, then scribble over it as a socket buffer would be.
  pair.client.produce_output();
  const auto out = pair.client.pending_output();
  std::string wire(reinterpret_cast<const char*>(out.data()), out.size());
  pair.client.consume_output(out.size());
  pair.server.feed({reinterpret_cast<const uint8_t*>(wire.data()), wire.size()});
  std::fill(wire.begin(), wire.end(), 'X');
  pair.pump();
  EXPECT_TRUE(seen.empty());
  pair.client.close_send(id);  // END_STREAM comes alone, in a later feed()
  pair.pump();
  EXPECT_EQ(seen, "the-request-bytes");
  ASSERT_TRUE(done.has_value());
  EXPECT_TRUE(done->ok());
}

// Every call shape still works when the bytes arrive in tiny pieces (1, 7 and 100 bytes per feed).
TEST(GrpcSession, BytesArrivingInTinyPiecesStillMakeWholeCalls) {
  service_registry registry;
  registry.add_request_method(std::string(kRange), [](const call_ref& call, std::string_view request) {
    call->respond("reply:" + std::string(request));
  });
  registry.add_stream_method(std::string(kWatch), [](const call_ref& call) {
    server_call* raw = call.get();
    call->set_stream_callbacks({[raw](std::string_view m) { raw->write("echo:" + std::string(m)); },
                                [raw] { raw->finish({status_code::aborted, "bye"}); }, {}});
  });
  for (const size_t chunk : {size_t{1}, size_t{7}, size_t{100}}) {
    std::vector<unary_outcome> outcomes(3);
    std::vector<std::string> echoes;
    std::optional<status> stream_done;
    session_pair pair(registry);
    pair.chunk_bytes = chunk;
    for (int i = 0; i < 3; ++i) pair.client.unary(kRange, big_payload(50 + i * 300), record(outcomes[i]));
    const auto id = pair.client.start_call(kWatch, {[&](std::string_view m) { echoes.emplace_back(m); },
                                                    [&](const status& s) { stream_done = s; }});
    pair.client.write(id, "first");
    pair.client.write(id, big_payload(5000));
    pair.client.close_send(id);
    pair.pump();
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(outcomes[i].done) << chunk;
      EXPECT_EQ(outcomes[i].response, "reply:" + big_payload(50 + i * 300)) << chunk;
    }
    ASSERT_EQ(echoes.size(), 2u) << chunk;
    EXPECT_EQ(echoes[1], "echo:" + big_payload(5000));
    ASSERT_TRUE(stream_done.has_value());
    EXPECT_EQ(stream_done->code, status_code::aborted);
    EXPECT_EQ(stream_done->message, "bye");
  }
}

TEST(GrpcSession, EmptyRequestAndResponseMessages) {
  service_registry registry;
  registry.add_request_method(std::string(kRange), [&](const call_ref& call, std::string_view request) {
    EXPECT_TRUE(request.empty());
    call->respond("");
  });
  session_pair pair(registry);
  unary_outcome outcome;
  pair.client.unary(kRange, "", record(outcome));
  pair.pump();
  ASSERT_TRUE(outcome.done);
  EXPECT_TRUE(outcome.result.ok());
  EXPECT_EQ(outcome.response, "");
}

TEST(GrpcSession, ManyConcurrentUnaryCallsOnOneConnection) {
  service_registry registry;
  registry.add_request_method(std::string(kRange), [](const call_ref& call, std::string_view request) {
    call->respond(request);
  });
  session_pair pair(registry);
  constexpr int calls = 500;
  std::vector<unary_outcome> outcomes(calls);
  for (int i = 0; i < calls; ++i) pair.client.unary(kRange, "k" + std::to_string(i), record(outcomes[i]));
  pair.pump();
  for (int i = 0; i < calls; ++i) {
    ASSERT_TRUE(outcomes[i].done) << i;
    EXPECT_TRUE(outcomes[i].result.ok()) << outcomes[i].result.message;
    EXPECT_EQ(outcomes[i].response, "k" + std::to_string(i));
  }
}

TEST(GrpcSession, AsynchronousReplyWakesTheConnectionOnce) {
  service_registry registry;
  std::vector<call_ref> parked;
  registry.add_request_method(std::string(kRange), [&](const call_ref& call, std::string_view) {
    parked.push_back(call);  // answered later, as a reply from the raft shard would be
  });
  session_pair pair(registry);
  int wakeups = 0;
  pair.server.set_output_ready_notifier([](void* counter) { ++*static_cast<int*>(counter); },
                                        &wakeups);
  unary_outcome first, second;
  pair.client.unary(kRange, "a", record(first));
  pair.client.unary(kRange, "b", record(second));
  pair.pump();
  ASSERT_EQ(parked.size(), 2u);
  EXPECT_FALSE(first.done);
  EXPECT_EQ(wakeups, 0);
  EXPECT_TRUE(parked[0]->respond("late-a"));
  EXPECT_TRUE(parked[1]->respond("late-b"));
  EXPECT_EQ(wakeups, 1);  // one notification for the batch
  pair.pump();
  ASSERT_TRUE(first.done && second.done);
  EXPECT_EQ(first.response, "late-a");
  EXPECT_EQ(second.response, "late-b");
  EXPECT_FALSE(parked[0]->respond("again"));  // finished calls refuse more output
}

TEST(GrpcSession, ServerStreamingSendsEveryMessageThenStatus) {
  service_registry registry;
  registry.add_request_method(std::string(kSnapshot), [](const call_ref& call, std::string_view) {
    for (int i = 0; i < 3; ++i) call->write("chunk" + std::to_string(i));
    call->write(big_payload(100'000));  // several DATA frames
    call->finish(status::success());
  });
  streamed_reply reply;
  session_pair pair(registry);
  call_server_streaming(pair, kSnapshot, reply);
  ASSERT_TRUE(reply.done.has_value());
  EXPECT_TRUE(reply.done->ok()) << reply.done->message;
  ASSERT_EQ(reply.messages.size(), 4u);
  EXPECT_EQ(reply.messages[0], "chunk0");
  EXPECT_EQ(reply.messages[2], "chunk2");
  EXPECT_EQ(reply.messages[3], big_payload(100'000));
}

TEST(GrpcSession, BidirectionalStreamEchoesUntilHalfClose) {
  service_registry registry;
  int opened = 0;
  registry.add_stream_method(std::string(kWatch), [&](const call_ref& call) {
    ++opened;
    server_call* raw = call.get();
    call->set_stream_callbacks({
        [raw](std::string_view message) { raw->write("echo:" + std::string(message)); },
        [raw] { raw->finish(status::success()); },
        {}});
  });
  session_pair pair(registry);
  std::vector<std::string> messages;
  std::optional<status> done;
  const auto id = pair.client.start_call(kWatch, {[&](std::string_view m) { messages.emplace_back(m); },
                                                  [&](const status& s) { done = s; }});
  pair.pump();
  EXPECT_EQ(opened, 1);  // the handler runs when the stream opens, before any message
  pair.client.write(id, "one");
  pair.pump();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0], "echo:one");
  pair.client.write(id, "two");
  pair.client.write(id, big_payload(300'000));  // crosses DATA frames: reassembled
  pair.pump();
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[2], "echo:" + big_payload(300'000));
  EXPECT_FALSE(done.has_value());
  pair.client.close_send(id);
  pair.pump();
  ASSERT_TRUE(done.has_value());
  EXPECT_TRUE(done->ok());
}

// A server-streaming handler that writes only while little is queued (as Snapshot and slow watchers
// must) is resumed by the drain callback and delivers everything, in order.
TEST(GrpcSession, DrainCallbackPacesAStreamingHandler) {
  service_registry registry;
  constexpr int chunks = 40;
  constexpr size_t queued_bytes_limit = 64 * 1024;
  int drains = 0;
  registry.add_request_method(std::string(kSnapshot), [&](const call_ref& call, std::string_view) {
    auto sent = std::make_shared<int>(0);
    server_call* raw = call.get();
    auto send_more = [raw, sent] {
      while (*sent < chunks && raw->queued_output_bytes() < queued_bytes_limit) {
        raw->write(big_payload(30'000) + std::to_string((*sent)++));
      }
      if (*sent == chunks) raw->finish(status::success());
    };
    call->set_drain_callback([send_more, &drains] {
      ++drains;
      send_more();
    });
    send_more();
  });
  streamed_reply reply;
  session_pair pair(registry);
  call_server_streaming(pair, kSnapshot, reply);
  ASSERT_TRUE(reply.done.has_value());
  EXPECT_TRUE(reply.done->ok());
  ASSERT_EQ(reply.messages.size(), size_t{chunks});
  EXPECT_EQ(reply.messages.back(), big_payload(30'000) + std::to_string(chunks - 1));
  EXPECT_GT(drains, 5);  // it really paused and resumed
}

// The server counts reply bytes queued on streams until HTTP/2 takes them (what the connection loop
// uses to stop reading from a client that does not read), and forgets the bytes of reset streams.
TEST(GrpcSession, QueuedReplyBytesAreCountedUntilSent) {
  service_registry registry;
  std::vector<call_ref> held;
  registry.add_request_method(std::string(kSnapshot), [&](const call_ref& call, std::string_view) {
    held.push_back(call);
    call->write(big_payload(1000));
  });
  client_options small_window;
  small_window.stream_window_bytes = 100;  // the client lets only 100 bytes per stream through...
  session_pair pair(registry, server_limits{}, small_window);
  std::vector<client_call_id> ids;
  for (int i = 0; i < 2; ++i) {
    ids.push_back(pair.client.start_call(kSnapshot, {}));
    pair.client.write(ids.back(), "");
    pair.client.close_send(ids.back());
  }
  // ...and never reads: only client -> server bytes move, so no WINDOW_UPDATE ever comes.
  const auto client_to_server = [&] {
    pair.client.produce_output();
    const auto bytes = pair.client.pending_output();
    pair.server.feed(bytes);
    pair.client.consume_output(bytes.size());
    pair.server.produce_output();
  };
  client_to_server();
  ASSERT_EQ(held.size(), 2u);
  EXPECT_EQ(pair.server.queued_stream_bytes(), 2 * (1005u - 100));  // all but the window
  pair.client.cancel(ids[0]);
  client_to_server();
  EXPECT_EQ(pair.server.queued_stream_bytes(), 1005u - 100);  // the reset stream's bytes are dropped
}

TEST(GrpcSession, TrailersOnlyErrorCarriesCodeAndEncodedMessage) {
  service_registry registry;
  registry.add_request_method(std::string(kRange), [](const call_ref& call, std::string_view) {
    call->finish({status_code::out_of_range, "etcdserver: mvcc: required revision 100% gone\nü"});
  });
  session_pair pair(registry);
  unary_outcome outcome;
  pair.client.unary(kRange, "x", record(outcome));
  pair.pump();
  ASSERT_TRUE(outcome.done);
  EXPECT_EQ(outcome.result.code, status_code::out_of_range);
  EXPECT_EQ(outcome.result.message, "etcdserver: mvcc: required revision 100% gone\nü");
  EXPECT_TRUE(outcome.response.empty());
}

TEST(GrpcSession, ErrorAfterMessagesGoesInTrailers) {
  service_registry registry;
  registry.add_request_method(std::string(kSnapshot), [](const call_ref& call, std::string_view) {
    call->write("partial");
    call->finish({status_code::unavailable, "leader changed"});
  });
  streamed_reply reply;
  session_pair pair(registry);
  call_server_streaming(pair, kSnapshot, reply);
  ASSERT_TRUE(reply.done.has_value());
  EXPECT_EQ(reply.done->code, status_code::unavailable);
  EXPECT_EQ(reply.done->message, "leader changed");
  EXPECT_EQ(reply.messages, std::vector<std::string>{"partial"});
}

TEST(GrpcSession, UnknownMethodAndServiceAreUnimplementedWithEtcdText) {
  service_registry registry;
  registry.add_request_method(std::string(kRange), [](const call_ref& call, std::string_view) {
    call->respond("");
  });
  session_pair pair(registry);
  unary_outcome method, service;
  pair.client.unary("/etcdserverpb.KV/Nope", "", record(method));
  pair.client.unary("/etcdserverpb.Nope/Range", "", record(service));
  pair.pump();
  ASSERT_TRUE(method.done && service.done);
  EXPECT_EQ(method.result.code, status_code::unimplemented);
  EXPECT_EQ(method.result.message, "unknown method Nope for service etcdserverpb.KV");
  EXPECT_EQ(service.result.code, status_code::unimplemented);
  EXPECT_EQ(service.result.message, "unknown service etcdserverpb.Nope");
  EXPECT_EQ(pair.server_verdict, session_verdict::open);
}

TEST(GrpcSession, OversizedRequestIsResourceExhaustedAndConnectionSurvives) {
  service_registry registry;
  int handled = 0;
  registry.add_request_method(std::string(kRange), [&](const call_ref& call, std::string_view request) {
    ++handled;
    call->respond(std::to_string(request.size()));
  });
  session_pair pair(registry);
  const size_t limit = server_limits{}.receive_message_bytes_max();
  ASSERT_EQ(limit, 2u * 1024 * 1024);  // etcd: 1.5 MiB max-request-bytes + 512 KiB gRPC overhead
  unary_outcome too_big, just_fits, after;
  pair.client.unary(kRange, big_payload(limit + 10), record(too_big));
  pair.pump();
  ASSERT_TRUE(too_big.done);
  EXPECT_EQ(too_big.result.code, status_code::resource_exhausted);
  EXPECT_EQ(too_big.result.message, "grpc: received message larger than max (2097162 vs. 2097152)");
  EXPECT_EQ(handled, 0);
  pair.client.unary(kRange, big_payload(limit), record(just_fits));
  pair.client.unary(kRange, "small", record(after));
  pair.pump();
  ASSERT_TRUE(just_fits.done && after.done);
  EXPECT_TRUE(just_fits.result.ok()) << just_fits.result.message;
  EXPECT_EQ(just_fits.response, std::to_string(limit));
  EXPECT_EQ(after.response, "5");
  EXPECT_EQ(pair.server_verdict, session_verdict::open);
}

TEST(GrpcSession, ClientCancelReachesTheHandler) {
  service_registry registry;
  call_ref held;
  bool cancelled = false;
  registry.add_stream_method(std::string(kWatch), [&](const call_ref& call) {
    held = call;
    call->set_stream_callbacks({{}, {}, [&] { cancelled = true; }});
  });
  session_pair pair(registry);
  std::optional<status> done;
  const auto id = pair.client.start_call(kWatch, {{}, [&](const status& s) { done = s; }});
  pair.pump();
  ASSERT_TRUE(held);
  EXPECT_TRUE(held->alive());
  pair.client.cancel(id);
  pair.pump();
  EXPECT_TRUE(cancelled);
  EXPECT_FALSE(held->alive());
  EXPECT_FALSE(held->write("too late"));
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->code, status_code::cancelled);
  EXPECT_EQ(pair.server.open_calls(), 0u);
}

// Records what a session tells the registry's observer: "started <path>", "handled <path> <code>".
struct recording_observer final : call_observer {
  std::vector<std::string> seen;
  void on_call_started(const method_entry& m) override { seen.push_back("started " + m.path); }
  void on_call_handled(const method_entry& m, status_code code) override {
    seen.push_back("handled " + m.path + " " + std::string(status_code_name(code)));
  }
};

TEST(GrpcSession, ObserverSeesEveryRoutedCallStartedAndHandledOnce) {
  service_registry registry;
  recording_observer observer;
  registry.set_observer(&observer);
  call_ref held_unary;
  registry.add_request_method(std::string(kRange), [&](const call_ref& call, std::string_view request) {
    if (request == "hold") held_unary = call;
    else if (request == "bad") call->finish({status_code::invalid_argument, "etcdserver: key is not provided"});
    else call->respond("ok");
  });
  registry.add_request_method(std::string(kSnapshot), [](const call_ref& call, std::string_view) {
    call->write("part");
    call->finish(status::success());
  }, call_type::server_stream);
  registry.add_stream_method(std::string(kWatch), [](const call_ref&) {});
  EXPECT_EQ(registry.find(kRange)->type, call_type::unary);
  EXPECT_EQ(registry.find(kSnapshot)->type, call_type::server_stream);
  EXPECT_EQ(registry.find(kWatch)->type, call_type::bidi_stream);
  EXPECT_EQ(call_type_name(call_type::bidi_stream), "bidi_stream");
  {
    // Declared before the pair: the client session reports the held call to `ok` as it goes.
    unary_outcome ok, bad, unknown;
    streamed_reply reply;
    session_pair pair(registry);
    pair.client.unary(kRange, "x", record(ok));
    pair.client.unary(kRange, "bad", record(bad));
    pair.client.unary("/etcdserverpb.KV/Nope", "", record(unknown));  // refused before routing: not seen
    pair.pump();
    call_server_streaming(pair, kSnapshot, reply);
    const auto watch = pair.client.start_call(kWatch, {{}, [](const status&) {}});
    pair.pump();
    pair.client.cancel(watch);
    pair.pump();
    pair.client.unary(kRange, "hold", record(ok));
    pair.pump();
    ASSERT_TRUE(held_unary);
  }  // the connection goes with the held call open: handled once, as cancelled
  EXPECT_FALSE(held_unary->respond("late"));  // and a late reply counts nothing more
  const std::vector<std::string> expected = {
      "started /etcdserverpb.KV/Range", "started /etcdserverpb.KV/Range",  // both routed, then handled
      "handled /etcdserverpb.KV/Range OK", "handled /etcdserverpb.KV/Range InvalidArgument",
      "started /etcdserverpb.Maintenance/Snapshot", "handled /etcdserverpb.Maintenance/Snapshot OK",
      "started /etcdserverpb.Watch/Watch", "handled /etcdserverpb.Watch/Watch Canceled",
      "started /etcdserverpb.KV/Range", "handled /etcdserverpb.KV/Range Canceled"};
  EXPECT_EQ(observer.seen, expected);
}

TEST(GrpcSession, ConnectionLossCancelsOpenCalls) {
  service_registry registry;
  call_ref held;
  bool cancelled = false;
  registry.add_request_method(std::string(kRange), [&](const call_ref& call, std::string_view) {
    held = call;
    call->set_cancel_callback([&] { cancelled = true; });
  });
  unary_outcome outcome;
  {
    session_pair pair(registry);
    pair.client.unary(kRange, "x", record(outcome));
    pair.pump();
    ASSERT_TRUE(held);
  }
  EXPECT_TRUE(cancelled);
  EXPECT_FALSE(held->alive());
  EXPECT_FALSE(held->respond("nobody listens"));  // safe after the session is gone
  EXPECT_TRUE(outcome.done);
  EXPECT_EQ(outcome.result.code, status_code::unavailable);
}

// ---- abuse defenses: each closes the offending connection ----------------------------------------

std::string watch_request_block() { return request_block(kWatch); }

// A server allowing two concurrent streams, fed three Watch streams at once.
struct three_streams_for_two_slots {
  explicit three_streams_for_two_slots(bool acknowledge_settings) {
    registry.add_stream_method(std::string(kWatch), [this](const call_ref& call) { held.push_back(call); });
    limits.max_concurrent_streams = 2;
    server.emplace(registry, limits);
    std::string bytes = client_preface();
    if (acknowledge_settings) bytes += frame(kSettings, 0x1, 0, "");
    for (uint32_t id : {1u, 3u, 5u}) bytes += frame(kHeaders, kEndHeaders, id, watch_request_block());
    fed = feed_string(*server, bytes);
    produced = server->produce_output();
  }
  service_registry registry;
  server_limits limits;
  std::vector<call_ref> held;
  std::optional<grpc_server_session> server;
  session_verdict fed, produced;
};

TEST(GrpcSessionDefense, StreamsBeyondTheLimitAreRefused) {
  // Before the client acknowledged our SETTINGS, the extra stream is refused (REFUSED_STREAM).
  three_streams_for_two_slots test(false);
  EXPECT_EQ(test.fed, session_verdict::open);
  EXPECT_EQ(test.held.size(), 2u);
  EXPECT_EQ(test.produced, session_verdict::open);
  EXPECT_TRUE(has_frame(test.server->pending_output(), kRstStream, 5, std::string("\0\0\0\x7", 4)));
}

TEST(GrpcSessionDefense, IgnoringAnAcknowledgedStreamLimitClosesTheConnection) {
  three_streams_for_two_slots test(true);
  EXPECT_EQ(test.held.size(), 2u);
  EXPECT_NE(test.produced, session_verdict::open);
  EXPECT_TRUE(has_frame(test.server->pending_output(), kGoaway, 0, ""));
}

TEST(GrpcSession, ClientQueuesCallsBeyondTheServersStreamLimit) {
  service_registry registry;
  std::vector<call_ref> held;
  registry.add_stream_method(std::string(kWatch), [&](const call_ref& call) { held.push_back(call); });
  server_limits limits;
  limits.max_concurrent_streams = 2;
  std::vector<std::optional<status>> done(3);  // outlives the sessions (their end reports to it)
  session_pair pair(registry, limits);
  pair.pump();  // settings exchanged
  for (int i = 0; i < 3; ++i) {
    pair.client.start_call(kWatch, {{}, [&done, i](const status& s) { done[i] = s; }});
  }
  pair.pump();
  ASSERT_EQ(held.size(), 2u);
  held[0]->finish(status::success());
  pair.pump();
  EXPECT_TRUE(done[0].has_value() && done[0]->ok());
  EXPECT_EQ(held.size(), 3u);  // the queued call went out once a slot freed
  EXPECT_EQ(pair.server_verdict, session_verdict::open);
}

TEST(GrpcSessionDefense, RapidResetFloodClosesTheConnection) {
  service_registry registry;
  registry.add_stream_method(std::string(kWatch), [](const call_ref&) {});
  server_limits limits;
  limits.stream_reset_burst = 50;
  limits.stream_reset_rate_per_s = 1;
  grpc_server_session server(registry, limits);
  std::string bytes = client_preface();
  for (uint32_t id = 1; id < 2 * 400; id += 2) {  // 400 streams opened and reset at once
    bytes += frame(kHeaders, kEndHeaders, id, watch_request_block());
    bytes += frame(kRstStream, 0, id, std::string("\0\0\0\x8", 4));
  }
  session_verdict verdict = feed_string(server, bytes);
  if (verdict == session_verdict::open) verdict = server.produce_output();
  EXPECT_NE(verdict, session_verdict::open);
  EXPECT_NE(server.produce_output(), session_verdict::open);
}

TEST(GrpcSessionDefense, ModestResetsAreFine) {
  service_registry registry;
  registry.add_stream_method(std::string(kWatch), [](const call_ref&) {});
  server_limits limits;
  limits.stream_reset_burst = 50;
  grpc_server_session server(registry, limits);
  std::string bytes = client_preface();
  for (uint32_t id = 1; id < 2 * 20; id += 2) {
    bytes += frame(kHeaders, kEndHeaders, id, watch_request_block());
    bytes += frame(kRstStream, 0, id, std::string("\0\0\0\x8", 4));
  }
  EXPECT_EQ(feed_string(server, bytes), session_verdict::open);
  EXPECT_EQ(server.produce_output(), session_verdict::open);
}

TEST(GrpcSessionDefense, ContinuationFloodClosesTheConnection) {
  service_registry registry;
  grpc_server_session server(registry, server_limits{});
  std::string bytes = client_preface() + frame(kHeaders, 0, 1, kMinimalHeaderBlock);
  const std::string literal("\x00\x03x-a\x01" "b", 7);  // literal header "x-a: b", not indexed
  for (int i = 0; i < 1000; ++i) bytes += frame(kContinuation, 0, 1, literal);
  EXPECT_EQ(feed_string(server, bytes), session_verdict::closed);
  EXPECT_FALSE(server.wants_io());
}

TEST(GrpcSessionDefense, OversizedHeadersCloseTheConnection) {
  service_registry registry;
  registry.add_request_method(std::string(kRange), [](const call_ref& call, std::string_view) {
    call->respond("");
  });
  server_limits limits;
  limits.max_header_list_bytes = 4096;
  unary_outcome outcome;  // outlives the sessions (the client's end reports to it)
  session_pair pair(registry, limits);
  pair.client.unary(kRange, "", record(outcome), {{"x-big", std::string(8000, 'h')}});
  pair.pump();
  EXPECT_NE(pair.server_verdict, session_verdict::open);
  EXPECT_EQ(pair.server.close_reason(), "request headers over the limit");
}

TEST(GrpcSessionDefense, GarbageInsteadOfPrefaceClosesAtOnce) {
  service_registry registry;
  grpc_server_session server(registry, server_limits{});
  EXPECT_EQ(feed_string(server, "HELLO WORLD, this is not HTTP/2 at all\r\n\r\n"),
            session_verdict::closed);
  EXPECT_FALSE(server.preface_received());
}

TEST(GrpcSessionDefense, PartialPrefaceWaitsForTheDeadline) {
  service_registry registry;
  grpc_server_session server(registry, server_limits{});
  EXPECT_EQ(feed_string(server, http2_client_preface.substr(0, 10)), session_verdict::open);
  EXPECT_FALSE(server.preface_received());  // the connection loop's deadline closes it
  EXPECT_EQ(feed_string(server, client_preface().substr(10)), session_verdict::open);
  EXPECT_TRUE(server.preface_received());
}

// Random frames (random types, flags, stream ids and payloads) after a valid preface: the session
// must answer or close, never crash or hang. Seeds are fixed so a failure replays exactly.
TEST(GrpcSessionDefense, RandomFramesNeverCrashTheSession) {
  service_registry registry;
  registry.add_request_method(std::string(kRange), [](const call_ref& call, std::string_view r) {
    call->respond(r);
  });
  registry.add_stream_method(std::string(kWatch), [](const call_ref& call) {
    server_call* raw = call.get();
    call->set_stream_callbacks({[raw](std::string_view m) { raw->write(m); }, {}, {}});
  });
  int closed = 0;
  for (uint32_t seed = 1; seed <= 2000; ++seed) {
    std::mt19937 random(seed);
    grpc_server_session server(registry, server_limits{});
    std::string bytes = client_preface();
    const int frames = 1 + static_cast<int>(random() % 20);
    for (int i = 0; i < frames; ++i) {
      const auto type = static_cast<uint8_t>(random() % 11);
      const auto flags = static_cast<uint8_t>(random() % 256);
      const uint32_t stream_id = random() % 4 == 0 ? 0 : 1 + 2 * (random() % 4);
      std::string payload(random() % 64, '\0');
      for (char& c : payload) c = static_cast<char>(random());
      if (type == kHeaders && random() % 2 == 0) payload = watch_request_block();
      bytes += frame(type, flags, stream_id, payload);
    }
    session_verdict verdict = session_verdict::open;
    for (size_t at = 0; at < bytes.size() && verdict == session_verdict::open;) {
      const size_t take = std::min<size_t>(bytes.size() - at, 1 + random() % 200);
      verdict = feed_string(server, std::string_view(bytes).substr(at, take));
      at += take;
      if (verdict == session_verdict::open) verdict = server.produce_output();
      server.consume_output(server.pending_output().size());
    }
    if (verdict != session_verdict::open) ++closed;
  }
  EXPECT_GT(closed, 700);  // most random streams are protocol errors that end the connection
}

TEST(GrpcTimeout, ParsesEveryUnitAndRejectsJunk) {
  using namespace std::chrono;
  EXPECT_EQ(parse_grpc_timeout("2H"), hours(2));
  EXPECT_EQ(parse_grpc_timeout("3M"), minutes(3));
  EXPECT_EQ(parse_grpc_timeout("99999999S"), seconds(99999999));
  EXPECT_EQ(parse_grpc_timeout("250u"), microseconds(250));
  EXPECT_EQ(parse_grpc_timeout("7n"), nanoseconds(7));
  EXPECT_FALSE(parse_grpc_timeout("").has_value());
  EXPECT_FALSE(parse_grpc_timeout("m").has_value());
  EXPECT_FALSE(parse_grpc_timeout("123456789S").has_value());  // more than 8 digits
  EXPECT_FALSE(parse_grpc_timeout("10x").has_value());
  EXPECT_FALSE(parse_grpc_timeout("1 S").has_value());
}

TEST(ProtocolDetect, TellsHttp2FromHttp1) {
  EXPECT_EQ(detect_protocol("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), wire_protocol::http2);
  EXPECT_EQ(detect_protocol("PRI * HT"), wire_protocol::undecided);
  EXPECT_EQ(detect_protocol("GET /health HTTP/1.1\r\n"), wire_protocol::http1);
  EXPECT_EQ(detect_protocol("POS"), wire_protocol::undecided);
  EXPECT_EQ(detect_protocol("\x16\x03\x01"), wire_protocol::unknown);  // a TLS ClientHello
  EXPECT_EQ(detect_protocol(" GET"), wire_protocol::unknown);
}

}  // namespace
}  // namespace ringkv::net::grpc
