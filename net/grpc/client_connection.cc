// The client-port connection driver: protocol detection, the HTTP/2 reader/writer pair, HTTP/1.1.
#include "net/grpc/client_connection.h"

#include "net/grpc/protocol_detect.h"
#include "runtime/cancel.h"
#include "runtime/notifier.h"
#include "runtime/timer.h"
#include "runtime/when_all.h"

#include <cassert>
#include <span>

namespace ringkv::net::grpc {

namespace {

std::span<const uint8_t> as_bytes(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()};
}

std::string_view as_text(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// Closes the connection unless disarm() comes first: connections that never finish their preface
// (or first HTTP/1.1 request) cannot hold a slot.
struct preface_watchdog {
  runtime::cancel_source disarm_source;
  bool fired = false;

  runtime::task<void> run(connection& conn, std::chrono::milliseconds timeout) {
    // (The result goes through a variable: g++ 12 miscompiles co_await on this awaitable inside an
    // if condition.)
    const int slept = co_await runtime::sleep_for(timeout, disarm_source.token());
    if (slept == 0) {
      fired = true;
      co_await conn.close();
    }
  }
  void disarm() { disarm_source.cancel(); }
};

struct h2_driver {
  connection& conn;
  grpc_server_session session;
  preface_watchdog& watchdog;
  const size_t queued_reply_bytes_read_limit;
  runtime::notifier writer_wakeup;
  runtime::notifier reader_wakeup;  // the writer made progress (for a reader paused by queued replies)
  bool reader_done = false;
  bool writer_done = false;

  h2_driver(connection& c, const client_port_services& services, const client_port_config& config,
            preface_watchdog& dog)
      : conn(c),
        session(*services.grpc, config.grpc),
        watchdog(dog),
        queued_reply_bytes_read_limit(config.queued_reply_bytes_read_limit) {
    session.set_output_ready_notifier([](void* self) { static_cast<h2_driver*>(self)->writer_wakeup.notify(); },
                                      this);
  }

  runtime::task<void> read_loop() {
    while (true) {
      while (session.queued_stream_bytes() > queued_reply_bytes_read_limit && !writer_done) {
        co_await reader_wakeup;
      }
      if (writer_done) break;
      if (conn.readable().empty()) {
        const int filled = co_await conn.fill(1);
        if (filled <= 0) break;
      }
      const auto bytes = conn.readable();
      const session_verdict verdict = session.feed(as_bytes(bytes));
      conn.consume(bytes.size());
      if (session.preface_received()) watchdog.disarm();
      writer_wakeup.notify();
      if (verdict != session_verdict::open) break;
    }
    reader_done = true;
    writer_wakeup.notify();
  }

  runtime::task<void> write_loop() {
    while (true) {
      co_await writer_wakeup;
      session_verdict verdict = session.produce_output();
      while (session.has_output()) {
        const auto out = session.pending_output();
        const int written = co_await conn.write(std::as_bytes(out));
        if (written < 0) {
          verdict = session_verdict::closed;
          break;
        }
        session.consume_output(out.size());
        verdict = session.produce_output();
        reader_wakeup.notify();
      }
      if (verdict != session_verdict::open || reader_done) break;
    }
    writer_done = true;
    reader_wakeup.notify();
    watchdog.disarm();
    co_await conn.close();  // ends a reader still waiting for bytes
  }
};

runtime::task<void> serve_http2(connection& conn, const client_port_services& services,
                                const client_port_config& config, preface_watchdog& watchdog) {
  h2_driver driver(conn, services, config, watchdog);
  co_await runtime::when_all(driver.read_loop(), driver.write_loop());
}

runtime::task<void> serve_http1(connection& conn, const client_port_services& services,
                                const client_port_config& config, preface_watchdog& watchdog) {
  std::string received;
  std::string out;
  http1::request request;
  bool continue_sent = false;  // for the request being received
  while (true) {
    const auto bytes = conn.readable();
    received.append(as_text(bytes));
    conn.consume(bytes.size());
    const http1::parse_result parsed = http1::parse_request(received, config.http, request);
    if (parsed.state == http1::parse_status::incomplete) {
      if (parsed.expects_continue && !continue_sent) {
        continue_sent = true;
        const int written = co_await conn.write(std::as_bytes(std::span(http1::continue_response)));
        if (written < 0) break;
      }
      const int filled = co_await conn.fill(1);
      if (filled <= 0) break;
      continue;
    }
    watchdog.disarm();
    out.clear();
    bool keep_alive = request.keep_alive;
    if (parsed.state == http1::parse_status::error) {
      keep_alive = false;
      http1::write_response(out, {parsed.error_http_status, "text/plain", parsed.error, {}}, false);
    } else if (!services.http) {
      http1::write_response(out, {404, "text/plain", "404 page not found\n", {}}, keep_alive);
    } else {
      const http_reply reply = co_await services.http(request);
      http1::response response{reply.status, reply.content_type, reply.body, {}};
      for (const auto& [name, value] : reply.headers) response.extra_headers.emplace_back(name, value);
      http1::write_response(out, response, keep_alive);
    }
    const int written = co_await conn.write(std::as_bytes(std::span(out)));
    if (written < 0 || !keep_alive) break;
    received.erase(0, parsed.consumed_bytes);
    continue_sent = false;
  }
  co_await conn.flush();
}

runtime::task<void> detect_and_serve(connection& conn, const client_port_services& services,
                                     const client_port_config& config, preface_watchdog& watchdog) {
  wire_protocol protocol = wire_protocol::undecided;
  while (protocol == wire_protocol::undecided) {
    const int filled = co_await conn.fill(conn.readable().size() + 1);
    if (filled <= 0) break;
    protocol = detect_protocol(as_text(conn.readable()));
  }
  if (protocol == wire_protocol::http2) {
    co_await serve_http2(conn, services, config, watchdog);
  } else if (protocol == wire_protocol::http1) {
    co_await serve_http1(conn, services, config, watchdog);
  }
  watchdog.disarm();
  co_await conn.close();
}

}  // namespace

runtime::task<void> serve_client_connection(connection conn, const client_port_services& services,
                                            const client_port_config& config) {
  assert(services.grpc != nullptr);
  if (services.live != nullptr) services.live->insert(&conn);
  preface_watchdog watchdog;
  co_await runtime::when_all(detect_and_serve(conn, services, config, watchdog),
                             watchdog.run(conn, config.preface_timeout));
  if (services.live != nullptr) services.live->erase(&conn);
}

runtime::task<void> close_client_connections(live_connection_set& live) {
  // A closed connection's coroutine needs a turn of the shard to wind down and leave the set.
  while (!live.empty()) {
    connection* conn = *live.begin();
    co_await conn->close();
    co_await runtime::yield();
  }
}

}  // namespace ringkv::net::grpc
