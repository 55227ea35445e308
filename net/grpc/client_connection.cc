// The client-port connection driver: protocol detection, the HTTP/2 reader/writer pair, HTTP/1.1
// (with streaming replies), the live set and shutdown.
#include "net/grpc/client_connection.h"

#include "net/grpc/protocol_detect.h"
#include "runtime/cancel.h"
#include "runtime/notifier.h"
#include "runtime/timer.h"
#include "runtime/when_all.h"

#include <sys/socket.h>

#include <cassert>
#include <coroutine>
#include <optional>
#include <span>

namespace ringkv::net::grpc {

namespace {

std::span<const uint8_t> as_bytes(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()};
}

std::string_view as_text(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// Shutdown: shut the socket down (blocked reads see EOF, writes fail) and stop the protocol driver.
void stop_member(live_member& member) {
  const int fd = member.conn->fd();
  if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
  if (member.stop) member.stop();
}

// Connections that never finish their preface (or first HTTP/1.1 request) cannot hold a slot: unless
// disarmed first, the alarm stops the connection as shutdown does (stop_member).
using preface_watchdog = runtime::alarm;

struct h2_driver {
  connection& conn;
  grpc_server_session session;
  preface_watchdog& watchdog;
  const connection_hooks& hooks;
  const size_t queued_reply_bytes_read_limit;
  runtime::notifier writer_wakeup;
  runtime::notifier reader_wakeup;  // the writer made progress (for a reader paused by queued replies)
  bool reader_done = false;
  bool writer_done = false;
  // The writer waits in conn.write(): the socket is backed up (the client does not read). Replies held
  // only by HTTP/2 flow control never pause reading, or the client's WINDOW_UPDATE would not be read.
  bool write_in_flight = false;
  bool stopping = false;  // shutdown: both loops end (the socket is shut down too)
  // The session's timers (keepalive, unfinished requests): one alarm at next_deadline(); when it fires
  // the writer runs session.on_timer() and writes what that queued.
  std::optional<runtime::alarm> session_timer;
  runtime::clock::time_point session_timer_at = runtime::clock::time_point::max();
  bool session_timer_fired = false;

  h2_driver(connection& c, const client_port_services& services, const client_port_config& config,
            preface_watchdog& dog, const transport_identity& identity)
      : conn(c),
        session(*services.grpc, config.grpc),
        watchdog(dog),
        hooks(services.hooks),
        queued_reply_bytes_read_limit(config.queued_reply_bytes_read_limit) {
    session.set_output_ready_notifier([](void* self) { static_cast<h2_driver*>(self)->writer_wakeup.notify(); },
                                      this);
    session.set_client_cert_cn(identity.client_cert_cn);
  }

  // Arms the alarm for the session's next deadline unless one at or before it is armed already (a
  // later deadline than the armed one only makes it fire early, and on_timer() then re-arms).
  void arm_session_timer() {
    const runtime::clock::time_point due = session.next_deadline();
    if (session_timer && !session_timer->expired() && session_timer_at <= due) return;
    session_timer_at = due;
    session_timer.emplace(due, [this] {
      session_timer_fired = true;
      writer_wakeup.notify();
    });
  }

  void stop() {
    stopping = true;
    writer_wakeup.notify();
    reader_wakeup.notify();
  }

  runtime::task<void> read_loop() {
    while (!stopping) {
      while (session.queued_stream_bytes() > queued_reply_bytes_read_limit && write_in_flight && !writer_done &&
             !stopping) {
        co_await reader_wakeup;
      }
      if (writer_done || stopping) break;
      if (conn.readable().empty()) {
        const int filled = co_await conn.fill(1);
        if (filled <= 0 || stopping) break;
      }
      const auto bytes = conn.readable();
      if (hooks.grpc_received_bytes) hooks.grpc_received_bytes(bytes.size());
      const session_verdict verdict = session.feed(as_bytes(bytes));
      conn.consume(bytes.size());
      if (session.preface_received()) watchdog.disarm();
      arm_session_timer();
      writer_wakeup.notify();
      if (verdict != session_verdict::open) break;
    }
    reader_done = true;
    writer_wakeup.notify();
  }

  runtime::task<void> write_loop() {
    while (!stopping) {
      co_await writer_wakeup;
      if (stopping) break;
      if (session_timer_fired) {
        session_timer_fired = false;
        if (session.on_timer(runtime::clock::now()) == session_verdict::closed) break;
        arm_session_timer();
      }
      session_verdict verdict = session.produce_output();
      while (session.has_output()) {
        const auto out = session.pending_output();
        write_in_flight = true;
        const int written = co_await conn.write(std::as_bytes(out));
        write_in_flight = false;
        if (written < 0 || stopping) {
          verdict = session_verdict::closed;
          break;
        }
        if (hooks.grpc_sent_bytes) hooks.grpc_sent_bytes(out.size());
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
                                const client_port_config& config, preface_watchdog& watchdog,
                                live_member& member, const transport_identity& identity) {
  h2_driver driver(conn, services, config, watchdog, identity);
  member.stop = [&driver] { driver.stop(); };
  driver.arm_session_timer();
  co_await runtime::when_all(driver.read_loop(), driver.write_loop());
  driver.session_timer.reset();
  member.stop = nullptr;
}

}  // namespace

// A streaming HTTP/1.1 reply: the producer writes, the watcher reads only to learn the client left.
struct http_stream_driver {
  http_stream& stream;
  const http_stream_producer& produce;
  bool producer_done = false;

  runtime::task<void> run_producer() {
    co_await produce(stream);
    producer_done = true;
    stream.on_gone_ = nullptr;  // what it referred to may be gone with the producer
    co_await stream.conn_.flush();
    co_await stream.conn_.close();  // ends the watcher's read
  }

  // The client sends nothing after its request; whatever it does send is dropped. A read that ends
  // (EOF, error, shutdown(2), or our own close) means it is over.
  runtime::task<void> watch_client() {
    while (true) {
      stream.conn_.consume(stream.conn_.readable().size());
      const int filled = co_await stream.conn_.fill(1);
      if (filled <= 0 || producer_done) break;
    }
    stream.mark_gone();
  }
};

runtime::task<bool> http_stream::write(std::string_view bytes) {
  if (gone_) co_return false;
  const int written = co_await conn_.write(std::as_bytes(std::span(bytes.data(), bytes.size())));
  if (written < 0) {
    mark_gone();
    co_return false;
  }
  co_return !gone_;
}

void http_stream::mark_gone() {
  if (gone_) return;
  gone_ = true;
  if (on_gone_) {
    auto on_gone = std::move(on_gone_);
    on_gone_ = nullptr;
    on_gone();
  }
}

namespace {

runtime::task<void> serve_http_stream(connection& conn, const http_stream_producer& produce) {
  http_stream stream(conn);
  http_stream_driver driver{stream, produce};
  co_await runtime::when_all(driver.run_producer(), driver.watch_client());
}

// The driver's own answers (no handler, or a request the parser refused), as Go's http.Error writes them.
constexpr std::string_view plain_text = "text/plain; charset=utf-8";

// What a keep-alive HTTP/1.1 connection is waiting for, each phase with its own deadline (the first
// request is under the preface watchdog instead).
enum class http1_phase : uint8_t { first_request, idle, headers, body, answering };

runtime::task<void> serve_http1(connection& conn, const client_port_services& services,
                                const client_port_config& config, preface_watchdog& watchdog,
                                live_member& member) {
  std::string received;
  std::string out;
  http1::request request;
  http1::parse_progress progress;
  http1_phase phase = http1_phase::first_request;
  std::optional<runtime::alarm> phase_deadline;  // stops the connection as shutdown does
  const auto enter = [&](http1_phase next) {
    if (next == phase) return;
    phase = next;
    const std::chrono::milliseconds limit = next == http1_phase::idle      ? config.http_idle_timeout
                                            : next == http1_phase::headers ? config.http_header_timeout
                                                                           : config.http_body_timeout;
    if (next == http1_phase::answering) {
      phase_deadline.reset();
    } else {
      phase_deadline.emplace(runtime::clock::now() + limit, [&member] { stop_member(member); });
    }
  };
  bool continue_sent = false;  // for the request being received
  while (true) {
    const auto bytes = conn.readable();
    received.append(as_text(bytes));
    conn.consume(bytes.size());
    const http1::parse_result parsed = http1::parse_request(received, config.http, request, progress);
    if (parsed.state == http1::parse_status::incomplete) {
      if (phase != http1_phase::first_request) {
        enter(received.empty() ? http1_phase::idle : parsed.headers_complete ? http1_phase::body : http1_phase::headers);
      }
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
    enter(http1_phase::answering);
    out.clear();
    bool keep_alive = request.keep_alive;
    if (parsed.state == http1::parse_status::error) {
      keep_alive = false;
      http1::write_response(out, {parsed.error_http_status, plain_text, parsed.error, {}}, false);
    } else if (!services.http) {
      http1::write_response(out, {404, plain_text, "404 page not found\n", {}}, keep_alive);
    } else {
      const http_reply reply = co_await services.http(request);
      if (reply.stream) {
        co_await serve_http_stream(conn, reply.stream);
        co_return;  // a stream ends its connection
      }
      http1::response response{reply.status, reply.content_type, reply.body, {}};
      for (const auto& [name, value] : reply.headers) response.extra_headers.emplace_back(name, value);
      http1::write_response(out, response, keep_alive);
    }
    const int written = co_await conn.write(std::as_bytes(std::span(out)));
    if (written < 0 || !keep_alive) break;
    received.erase(0, parsed.consumed_bytes);
    progress = {};
    continue_sent = false;
  }
  co_await conn.flush();
}

runtime::task<void> detect_and_serve(connection& conn, const client_port_services& services,
                                     const client_port_config& config, preface_watchdog& watchdog,
                                     live_member& member, const transport_identity& identity) {
  wire_protocol protocol = wire_protocol::undecided;
  while (protocol == wire_protocol::undecided) {
    const int filled = co_await conn.fill(conn.readable().size() + 1);
    if (filled <= 0) break;
    protocol = detect_protocol(as_text(conn.readable()));
  }
  if (protocol == wire_protocol::http2) {
    co_await serve_http2(conn, services, config, watchdog, member, identity);
  } else if (protocol == wire_protocol::http1) {
    co_await serve_http1(conn, services, config, watchdog, member);
  }
  watchdog.disarm();
  co_await conn.close();
}

}  // namespace

void live_connection_set::insert(live_member& member) {
  const bool inserted = members_.insert(&member).second;
  assert(inserted);
  (void)inserted;
  if (closing_) stop_member(member);
}

void live_connection_set::erase(live_member& member) {
  const size_t erased = members_.erase(&member);
  assert(erased == 1);
  (void)erased;
  if (members_.empty()) emptied_.notify();
}

runtime::task<void> serve_client_connection(connection conn, const client_port_services& services,
                                            const client_port_config& config) {
  assert(services.grpc != nullptr);
  live_member member{&conn, nullptr};
  if (services.live != nullptr) services.live->insert(member);
  if (services.hooks.open_connections) services.hooks.open_connections(+1);
  // The transport set-up (a TLS handshake) is bounded on its own; shutdown ends it as it ends a read.
  transport_identity identity;
  bool transport_ready = true;
  if (services.transport) transport_ready = co_await services.transport(conn, identity);
  if (transport_ready) {
    preface_watchdog watchdog(runtime::clock::now() + config.preface_timeout, [&member] { stop_member(member); });
    co_await detect_and_serve(conn, services, config, watchdog, member, identity);
  } else {
    co_await conn.close();
  }
  if (services.hooks.open_connections) services.hooks.open_connections(-1);
  if (services.live != nullptr) services.live->erase(member);
}

runtime::task<void> close_client_connections(live_connection_set& live) {
  live.closing_ = true;
  // Stopping is synchronous (nothing leaves the set during this loop); each driver then winds down
  // on its own and the last one to leave wakes us.
  for (live_member* member : live.members_) stop_member(*member);
  while (!live.empty()) co_await live.emptied_;
}

}  // namespace ringkv::net::grpc
