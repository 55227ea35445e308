// net/grpc/client_connection over loopback on a real runtime: streaming HTTP/1.1 replies (chunked
// bytes exactly, the connection closing after the producer; a client that leaves stops its producer),
// the metric hooks (HTTP/2 bytes both ways, open connections), the preface deadline, and
// close_client_connections ending every kind of connection (undecided, HTTP/2, a stream in progress)
// without polling, and the HTTP/2 read pause: a client that does not read its replies is not read
// from, while replies held back only by HTTP/2 flow control never stop reading (the client's
// WINDOW_UPDATE must get in); the HTTP/1.1 header and idle deadlines and the HTTP/2 keepalive timer.
// (The wire e2e test covers gRPC and HTTP/1.1 with real clients.)
#include "net/grpc/client_connection.h"

#include <gtest/gtest.h>

#include <sys/socket.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "net/grpc/grpc_client_session.h"
#include "tests/grpc/raw_h2.h"
#include "net/tcp/connect.h"
#include "net/tcp/listener.h"
#include "runtime/cancel.h"
#include "runtime/notifier.h"
#include "runtime/reactor.h"
#include "runtime/timer.h"
#include "runtime/when_all.h"

namespace ringkv::net::grpc {
namespace {

using namespace std::chrono_literals;

constexpr auto wait_limit = 5s;
constexpr std::string_view http2_preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
constexpr std::string_view empty_settings_frame{"\0\0\0\4\0\0\0\0\0", 9};
constexpr std::string_view stream_request = "GET /stream HTTP/1.1\r\nHost: test\r\n\r\n";
constexpr std::string_view endless_request = "GET /endless HTTP/1.1\r\nHost: test\r\n\r\n";

void run_on_runtime(std::function<runtime::task<int>()> body) {
  runtime::reactor_config config;
  config.shards = 1;
  config.handle_signals = false;
  EXPECT_EQ(runtime::run(config, std::move(body)), 0);
}

// One shard's client port: a listener, the driver, handlers for /stream (three chunks) and /endless
// (a head, then nothing until the client goes away), and counters behind the hooks.
struct port_under_test {
  service_registry registry;
  live_connection_set live;
  client_port_services services;
  client_port_config config;
  listener port;
  int open_connections = 0;
  int opened_total = 0;
  size_t received_bytes = 0;
  size_t sent_bytes = 0;
  int producers_running = 0;
  int producers_saw_gone = 0;

  explicit port_under_test(std::chrono::milliseconds preface_timeout = 10s)
      : port(std::move(listener::open(endpoint::loopback_v4(0))).value()) {
    config.preface_timeout = preface_timeout;
    services.grpc = &registry;
    services.live = &live;
    services.http = [this](const http1::request& request) { return answer(request); };
    services.hooks.grpc_received_bytes = [this](size_t bytes) { received_bytes += bytes; };
    services.hooks.grpc_sent_bytes = [this](size_t bytes) { sent_bytes += bytes; };
    services.hooks.open_connections = [this](int delta) {
      open_connections += delta;
      if (delta > 0) ++opened_total;
    };
  }

  runtime::task<http_reply> answer(const http1::request& request) {
    http_reply reply;
    if (request.path == "/stream") {
      reply.stream = [](http_stream& out) -> runtime::task<void> {
        std::string bytes;
        http1::write_chunked_head(bytes, {200, "application/json", {}, {{"X-Test", "1"}}});
        co_await out.write(bytes);
        for (int i = 0; i < 3; ++i) {
          co_await runtime::sleep_for(1ms);
          bytes.clear();
          http1::append_chunk(bytes, "{\"line\":" + std::to_string(i) + "}\n");
          if (i == 2) http1::append_last_chunk(bytes);
          co_await out.write(bytes);
        }
      };
    } else if (request.path == "/endless") {
      reply.stream = [this](http_stream& out) -> runtime::task<void> {
        ++producers_running;
        runtime::notifier gone;
        out.set_gone_callback([&gone] { gone.notify(); });
        std::string head;
        http1::write_chunked_head(head, {200, "application/json", {}, {}});
        if (co_await out.write(head)) co_await gone;
        if (out.client_gone()) ++producers_saw_gone;
        --producers_running;
      };
    } else {
      reply.status = 404;
      reply.body = "nope";
    }
    co_return reply;
  }

  runtime::task<void> serve() {
    co_await port.serve([this](connection conn) { return serve_client_connection(std::move(conn), services, config); });
  }
  runtime::task<void> stop() {
    co_await port.close();
    co_await close_client_connections(live);
  }
};

runtime::task<connection> dial(port_under_test& port) {
  auto connected = co_await connect(port.port.local(), wait_limit);
  EXPECT_TRUE(connected.ok()) << connected.error_message();
  co_return std::move(connected).value();
}

runtime::task<bool> send(connection& conn, std::string_view bytes) {
  co_return co_await conn.write(std::as_bytes(std::span(bytes.data(), bytes.size()))) >= 0;
}

// A connection that sent the HTTP/2 preface and an empty SETTINGS, and nothing else.
runtime::task<connection> dial_h2(port_under_test& port) {
  connection conn = co_await dial(port);
  std::string hello(http2_preface);
  hello.append(empty_settings_frame);
  const bool sent = co_await send(conn, hello);
  EXPECT_TRUE(sent);
  co_return conn;
}

// Everything the server sends until it closes (nullopt if it has not closed within `limit`: the
// socket is then shut down here to end the read).
runtime::task<std::optional<std::string>> read_until_closed(connection& conn, std::chrono::nanoseconds limit = wait_limit) {
  std::string received;
  bool done = false;
  bool timed_out = false;
  runtime::cancel_source stop_timer;
  auto timer = [&]() -> runtime::task<void> {
    const int slept = co_await runtime::sleep_for(limit, stop_timer.token());
    if (slept == 0 && !done) {
      timed_out = true;
      ::shutdown(conn.fd(), SHUT_RDWR);
    }
  };
  auto reader = [&]() -> runtime::task<void> {
    while (true) {
      std::byte buffer[4096];
      const int got = co_await conn.read_some(buffer);
      if (got <= 0) break;
      received.append(reinterpret_cast<const char*>(buffer), size_t(got));
    }
    done = true;
    stop_timer.cancel();
  };
  co_await runtime::when_all(reader(), timer());
  if (timed_out) co_return std::nullopt;
  co_return received;
}

// Reads until `bytes` of the reply arrived.
runtime::task<std::string> read_at_least(connection& conn, size_t bytes) {
  std::string received;
  while (received.size() < bytes) {
    std::byte buffer[4096];
    const int got = co_await conn.read_some(buffer);
    if (got <= 0) break;
    received.append(reinterpret_cast<const char*>(buffer), size_t(got));
  }
  co_return received;
}

// --- the HTTP/2 read pause ---

constexpr std::string_view kStream = "/test.Load/Stream";  // server streaming: big replies
constexpr std::string_view kCount = "/test.Load/Count";    // unary: counts the calls started
constexpr size_t read_limit = 256 * 1024;                  // queued_reply_bytes_read_limit here

// What a server-streaming call brought back.
struct streamed_reply {
  std::vector<std::string> messages;
  std::optional<status> done;
};

// Polls `done` every millisecond until it holds or `limit` passes; returns done().
runtime::task<bool> wait_until(std::function<bool()> done, std::chrono::nanoseconds limit) {
  const auto deadline = runtime::clock::now() + limit;
  while (!done() && runtime::clock::now() < deadline) co_await runtime::sleep_for(1ms);
  co_return done();
}

// Writes out everything the client session has to say. False if a write failed.
runtime::task<bool> flush_client(grpc_client_session& client, connection& conn) {
  client.produce_output();
  while (client.has_output()) {
    const auto out = client.pending_output();
    if (co_await conn.write(std::as_bytes(out)) < 0) co_return false;
    client.consume_output(out.size());
    client.produce_output();
  }
  co_return true;
}

// Opens a call with one empty request message and END_STREAM (the session sends it on flush_client).
client_call_id start_empty_call(grpc_client_session& client, std::string_view path,
                                grpc_client_session::call_callbacks callbacks = {}) {
  const client_call_id id = client.start_call(path, std::move(callbacks));
  client.write(id, "");
  client.close_send(id);
  return id;
}

// A client that never reads its socket (its receive buffer shrunk) opens a stream whose replies (16 MiB)
// dwarf the read limit and every socket buffer: the server's writer backs up, and from then on the
// server reads nothing: unary calls sent after that are never started, not a byte more is received.
// Without the pause the server would read (and buffer replies to) whatever the client sends.
TEST(ClientConnection, AClientThatDoesNotReadIsNotReadFrom) {
  run_on_runtime([]() -> runtime::task<int> {
    port_under_test port;
    port.config.queued_reply_bytes_read_limit = read_limit;
    const std::string chunk(512 * 1024, 'r');
    port.registry.add_request_method(
        std::string(kStream),
        [&chunk](const call_ref& call, std::string_view) {
          for (int i = 0; i < 32; ++i) call->write(chunk);
          call->finish(status::success());
        },
        call_type::server_stream);
    int started = 0;
    port.registry.add_request_method(std::string(kCount), [&started](const call_ref& call, std::string_view) {
      ++started;
      call->respond("");
    });
    auto client = [&]() -> runtime::task<void> {
      connection conn = co_await dial(port);
      const int small_buffer = 4096;
      EXPECT_EQ(::setsockopt(conn.fd(), SOL_SOCKET, SO_RCVBUF, &small_buffer, sizeof small_buffer), 0);
      client_options options;
      options.stream_window_bytes = 64 * 1024 * 1024;  // the socket holds the replies back, not HTTP/2
      grpc_client_session session(options);
      start_empty_call(session, kStream);
      bool sent = co_await flush_client(session, conn);
      EXPECT_TRUE(sent);
      // One call at a time: a server that reads starts each promptly (within 1 s). The first one left unstarted
      // shows the pause (the calls before it were read while the writer was still getting stuck).
      // Each started call is cancelled: this client never reads the server's SETTINGS, so nghttp2
      // lets it hold only 100 streams open.
      constexpr int max_probes = 300;
      int probes = 0;
      bool paused = false;
      while (sent && !paused && probes < max_probes) {
        const client_call_id id = start_empty_call(session, kCount);
        ++probes;
        sent = co_await flush_client(session, conn);
        const bool read = co_await wait_until([&] { return started == probes; }, 1s);  // generous: a loaded machine must not look paused
        paused = !read;
        if (read) session.cancel(id);  // the RST_STREAM leaves with the next call
      }
      EXPECT_TRUE(sent);
      EXPECT_TRUE(paused) << "the server started all " << probes << " calls of a client that does not read";
      if (paused) {
        // Stopped for good: more calls are not started, and nothing more is read.
        const int started_before = started;
        const size_t received_before = port.received_bytes;
        for (int i = 0; i < 50; ++i) start_empty_call(session, kCount);
        sent = co_await flush_client(session, conn);
        EXPECT_TRUE(sent);
        const bool read_more = co_await wait_until(
            [&] { return started > started_before || port.received_bytes > received_before; }, 200ms);
        EXPECT_FALSE(read_more);
        EXPECT_EQ(started, started_before);
        EXPECT_EQ(port.received_bytes, received_before);
        EXPECT_LT(started, probes);
      }
      co_await conn.close();
      co_await port.stop();
    };
    co_await runtime::when_all(port.serve(), client());
    EXPECT_EQ(port.open_connections, 0);
    co_return 0;
  });
}

// A client with tiny HTTP/2 windows (16 KiB per stream, 64 KiB per connection) that reads promptly
// opens four streams of 512 KiB of replies each: far over the read limit, all held back by flow
// control. The server must keep reading (the client's WINDOW_UPDATEs), so every reply arrives whole;
// pausing on queued bytes alone deadlocks (the client then gives up after 3 s and the test fails).
TEST(ClientConnection, RepliesHeldByFlowControlDoNotStopReading) {
  run_on_runtime([]() -> runtime::task<int> {
    constexpr int calls = 4;
    constexpr int messages = 8;
    constexpr size_t message_bytes = 64 * 1024;
    port_under_test port;
    port.config.queued_reply_bytes_read_limit = read_limit;
    const std::string chunk(message_bytes, 'f');
    port.registry.add_request_method(
        std::string(kStream),
        [&chunk](const call_ref& call, std::string_view) {
          for (int i = 0; i < messages; ++i) call->write(chunk);
          call->finish(status::success());
        },
        call_type::server_stream);
    static_assert(messages * message_bytes > read_limit);
    auto client = [&]() -> runtime::task<void> {
      connection conn = co_await dial(port);
      std::vector<streamed_reply> replies(calls);  // outlives the session (unfinished calls end there)
      client_options options;
      options.stream_window_bytes = 16 * 1024;
      options.connection_window_bytes = 64 * 1024;
      grpc_client_session session(options);
      for (streamed_reply& reply : replies) {
        start_empty_call(session, kStream,
                         {[&reply](std::string_view message) { reply.messages.emplace_back(message); },
                          [&reply](const status& result) { reply.done = result; }});
      }
      const auto all_done = [&] {
        for (const streamed_reply& reply : replies) {
          if (!reply.done) return false;
        }
        return true;
      };
      bool finished = false;
      bool timed_out = false;
      runtime::cancel_source stop_timer;
      auto timer = [&]() -> runtime::task<void> {
        const int slept = co_await runtime::sleep_for(3s, stop_timer.token());
        if (slept == 0 && !finished) {
          timed_out = true;
          ::shutdown(conn.fd(), SHUT_RDWR);  // ends the read below
        }
      };
      auto driver = [&]() -> runtime::task<void> {
        while (!all_done()) {
          const bool sent = co_await flush_client(session, conn);  // requests, WINDOW_UPDATEs
          if (!sent) break;
          std::byte buffer[64 * 1024];
          const int got = co_await conn.read_some(buffer);
          if (got <= 0) break;
          session.feed({reinterpret_cast<const uint8_t*>(buffer), size_t(got)});
        }
        finished = true;
        stop_timer.cancel();
      };
      co_await runtime::when_all(driver(), timer());
      EXPECT_FALSE(timed_out) << "replies held by flow control stopped the server reading (deadlock)";
      for (const streamed_reply& reply : replies) {
        EXPECT_TRUE(reply.done.has_value() && reply.done->ok()) << (reply.done ? reply.done->message : "unfinished");
        EXPECT_EQ(reply.messages.size(), size_t{messages});
        for (const std::string& message : reply.messages) EXPECT_TRUE(message == chunk);
      }
      co_await conn.close();
      co_await port.stop();
    };
    co_await runtime::when_all(port.serve(), client());
    EXPECT_EQ(port.open_connections, 0);
    co_return 0;
  });
}

TEST(ClientConnection, StreamingReplyIsChunkedThenTheConnectionCloses) {
  run_on_runtime([]() -> runtime::task<int> {
    port_under_test port;
    auto client = [&]() -> runtime::task<void> {
      connection conn = co_await dial(port);
      const bool sent = co_await send(conn, stream_request);
      EXPECT_TRUE(sent);
      const auto reply = co_await read_until_closed(conn);
      EXPECT_TRUE(reply.has_value()) << "the server did not close after the stream";
      EXPECT_EQ(reply.value_or(""),
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Test: 1\r\n"
                "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                "b\r\n{\"line\":0}\n\r\nb\r\n{\"line\":1}\n\r\nb\r\n{\"line\":2}\n\r\n0\r\n\r\n");
      co_await conn.close();
      co_await port.stop();
    };
    co_await runtime::when_all(port.serve(), client());
    EXPECT_EQ(port.open_connections, 0);
    EXPECT_EQ(port.opened_total, 1);
    co_return 0;
  });
}

TEST(ClientConnection, AClientLeavingEndsItsStreamsProducer) {
  run_on_runtime([]() -> runtime::task<int> {
    port_under_test port;
    auto client = [&]() -> runtime::task<void> {
      connection conn = co_await dial(port);
      const bool sent = co_await send(conn, endless_request);
      EXPECT_TRUE(sent);
      const std::string head = co_await read_at_least(conn, 4);
      EXPECT_EQ(head.substr(0, 15), "HTTP/1.1 200 OK");
      EXPECT_EQ(port.producers_running, 1);
      co_await conn.close();
      const auto deadline = runtime::clock::now() + wait_limit;
      while (port.open_connections > 0 && runtime::clock::now() < deadline) co_await runtime::sleep_for(1ms);
      EXPECT_EQ(port.producers_running, 0);
      EXPECT_EQ(port.producers_saw_gone, 1);
      EXPECT_EQ(port.open_connections, 0);
      co_await port.stop();
    };
    co_await runtime::when_all(port.serve(), client());
    co_return 0;
  });
}

TEST(ClientConnection, HooksCountHttp2BytesAndOpenConnections) {
  run_on_runtime([]() -> runtime::task<int> {
    port_under_test port;
    auto client = [&]() -> runtime::task<void> {
      connection conn = co_await dial(port);
      std::string hello(http2_preface);
      hello.append(empty_settings_frame);
      const bool sent = co_await send(conn, hello);
      EXPECT_TRUE(sent);
      const std::string settings = co_await read_at_least(conn, 9);  // the server's SETTINGS (and more)
      EXPECT_GE(settings.size(), 9u);
      const auto deadline = runtime::clock::now() + wait_limit;
      while (port.received_bytes < hello.size() && runtime::clock::now() < deadline) co_await runtime::sleep_for(1ms);
      EXPECT_EQ(port.received_bytes, hello.size());
      EXPECT_GE(port.sent_bytes, settings.size());
      EXPECT_EQ(port.open_connections, 1);
      co_await conn.close();
      co_await port.stop();
    };
    co_await runtime::when_all(port.serve(), client());
    EXPECT_EQ(port.open_connections, 0);
    co_return 0;
  });
}

TEST(ClientConnection, ASilentConnectionIsClosedAtThePrefaceDeadline) {
  run_on_runtime([]() -> runtime::task<int> {
    port_under_test port(100ms);
    auto client = [&]() -> runtime::task<void> {
      connection conn = co_await dial(port);
      const auto started = runtime::clock::now();
      const auto reply = co_await read_until_closed(conn);
      EXPECT_TRUE(reply.has_value() && reply->empty());
      EXPECT_GE(runtime::clock::now() - started, 80ms);
      co_await conn.close();
      co_await port.stop();
    };
    co_await runtime::when_all(port.serve(), client());
    co_return 0;
  });
}

// --- phase deadlines after the preface ---

constexpr std::string_view not_found_request = "GET /nope HTTP/1.1\r\nHost: test\r\n\r\n";

// HTTP/1.1 keep-alive: headers trickling in are cut at http_header_timeout, a body at
// http_body_timeout, an idle connection at http_idle_timeout (each after a first request answered, so
// the preface deadline is past).
TEST(ClientConnection, Http1HeaderBodyAndIdleDeadlinesCloseTheConnection) {
  run_on_runtime([]() -> runtime::task<int> {
    port_under_test port;
    port.config.http_header_timeout = 150ms;
    port.config.http_body_timeout = 250ms;
    port.config.http_idle_timeout = 400ms;
    auto client = [&]() -> runtime::task<void> {
      connection slow = co_await dial(port);
      std::string bytes(not_found_request);
      bytes += "GET /nope HTTP/1.1\r\nHo";  // the second request's headers never finish
      const bool slow_sent = co_await send(slow, bytes);
      EXPECT_TRUE(slow_sent);
      auto started = runtime::clock::now();
      auto reply = co_await read_until_closed(slow);
      EXPECT_TRUE(reply.has_value() && reply->find("404 Not Found") != std::string::npos);
      EXPECT_GE(runtime::clock::now() - started, 120ms);
      EXPECT_LT(runtime::clock::now() - started, 2s);  // not the 5 s of read_until_closed: a deadline fired
      co_await slow.close();

      connection trickling_body = co_await dial(port);
      std::string with_body(not_found_request);
      with_body += "POST /nope HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc";  // 7 body bytes never come
      const bool body_sent = co_await send(trickling_body, with_body);
      EXPECT_TRUE(body_sent);
      started = runtime::clock::now();
      reply = co_await read_until_closed(trickling_body);
      EXPECT_TRUE(reply.has_value() && reply->find("404 Not Found") != std::string::npos);
      EXPECT_GE(runtime::clock::now() - started, 200ms);  // the body deadline (250 ms), not the header one
      EXPECT_LT(runtime::clock::now() - started, 2s);
      co_await trickling_body.close();

      connection idle = co_await dial(port);
      const bool idle_sent = co_await send(idle, not_found_request);
      EXPECT_TRUE(idle_sent);
      started = runtime::clock::now();
      reply = co_await read_until_closed(idle);
      EXPECT_TRUE(reply.has_value() && reply->find("404 Not Found") != std::string::npos);
      EXPECT_GE(runtime::clock::now() - started, 350ms);
      co_await idle.close();
      co_await port.stop();
    };
    co_await runtime::when_all(port.serve(), client());
    co_return 0;
  });
}

// HTTP/2 keepalive through the driver's timer: an idle client is pinged after keepalive_interval, and
// one that does not answer is dropped keepalive_timeout later.
TEST(ClientConnection, UnansweredKeepalivePingClosesTheConnection) {
  run_on_runtime([]() -> runtime::task<int> {
    port_under_test port;
    port.config.grpc.keepalive_interval = 100ms;
    port.config.grpc.keepalive_timeout = 100ms;
    auto client = [&]() -> runtime::task<void> {
      connection conn = co_await dial_h2(port);
      const auto started = runtime::clock::now();
      const auto reply = co_await read_until_closed(conn);
      EXPECT_TRUE(reply.has_value());
      // The server's SETTINGS and its ACK of ours, one PING, then the close.
      size_t pings = 0;
      const std::string received = reply.value_or("");
      for (const auto& f : parse_frames({reinterpret_cast<const uint8_t*>(received.data()), received.size()})) {
        pings += f.type == kPing && (f.flags & kAck) == 0;
      }
      EXPECT_EQ(pings, 1u);
      EXPECT_GE(runtime::clock::now() - started, 150ms);
      co_await conn.close();
      co_await port.stop();
    };
    co_await runtime::when_all(port.serve(), client());
    co_return 0;
  });
}

TEST(ClientConnection, CloseClientConnectionsEndsEveryKind) {
  run_on_runtime([]() -> runtime::task<int> {
    port_under_test port;
    auto client = [&]() -> runtime::task<void> {
      connection silent = co_await dial(port);
      connection h2 = co_await dial_h2(port);
      connection streaming = co_await dial(port);
      const bool streaming_sent = co_await send(streaming, endless_request);
      EXPECT_TRUE(streaming_sent);
      const std::string head = co_await read_at_least(streaming, 4);
      EXPECT_EQ(port.producers_running, 1);
      EXPECT_EQ(port.live.size(), 3u);
      const auto started = runtime::clock::now();
      co_await port.stop();  // returns once every connection's driver has finished
      EXPECT_LT(runtime::clock::now() - started, 1s);
      EXPECT_TRUE(port.live.empty());
      EXPECT_EQ(port.open_connections, 0);
      EXPECT_EQ(port.producers_running, 0);
      EXPECT_EQ(port.producers_saw_gone, 1);
      for (connection* conn : {&silent, &h2, &streaming}) {
        const auto rest = co_await read_until_closed(*conn);
        EXPECT_TRUE(rest.has_value()) << "a connection still open";
        co_await conn->close();
      }
    };
    co_await runtime::when_all(port.serve(), client());
    co_return 0;
  });
}

}  // namespace
}  // namespace ringkv::net::grpc
