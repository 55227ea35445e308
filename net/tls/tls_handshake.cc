// net/tls/tls_handshake.cc — see tls_handshake.h.
#include "net/tls/tls_handshake.h"

#include <sys/socket.h>

#include <cassert>

#include "net/tls/tls_codec.h"
#include "runtime/timer.h"

namespace ringkv::net::tls {
namespace {

// Holds a place in the gate for the handshake's duration.
class gate_pass {
 public:
  explicit gate_pass(handshake_gate& gate) : gate_(gate) {}
  ~gate_pass() { gate_.leave(); }
  gate_pass(const gate_pass&) = delete;
  gate_pass& operator=(const gate_pass&) = delete;

 private:
  handshake_gate& gate_;
};

// Sends what the session produced (handshake messages, or an alert after a failure). False if the
// write failed.
runtime::task<bool> send_produced(connection& conn, tls_codec& session) {
  std::string produced;
  session.drain_wire(produced);
  if (produced.empty()) co_return true;
  const int written = co_await conn.write(std::as_bytes(std::span(produced)));
  co_return written >= 0;
}

// The handshake's steps on the raw connection; the session is installed by the caller. `deadline`
// shuts the socket down when it fires (the read or write in flight then ends).
runtime::task<void> run_steps(connection& conn, tls_codec& session, const runtime::alarm& deadline,
                              handshake_outcome& outcome) {
  const auto ended = [&deadline, &outcome](std::string error) {
    outcome.error = deadline.expired() ? "tls: handshake timed out" : std::move(error);
  };
  for (;;) {
    const tls_codec::handshake_step step = session.handshake();
    const bool sent = co_await send_produced(conn, session);
    if (step == tls_codec::handshake_step::failed) {
      ended(session.failure());
      co_return;
    }
    if (!sent) {
      ended("tls: connection closed during the handshake");
      co_return;
    }
    if (step == tls_codec::handshake_step::done) break;
    const int filled = co_await conn.fill(1);
    if (filled <= 0 || deadline.expired()) {
      ended("tls: connection closed during the handshake");
      co_return;
    }
    const auto bytes = conn.readable();
    const bool taken = session.take_wire(bytes);
    conn.consume(bytes.size());
    if (!taken) {
      ended("tls: cannot buffer handshake bytes");
      co_return;
    }
  }
  if (deadline.expired()) {  // it fired while the last write finished: the socket is shut down
    outcome.error = "tls: handshake timed out";
    co_return;
  }
  outcome.ok = true;
}

}  // namespace

runtime::task<handshake_outcome> server_handshake(connection& conn, std::shared_ptr<const tls_context> context,
                                                  const handshake_limits& limits, handshake_gate& gate) {
  assert(!conn.has_codec());
  handshake_outcome outcome;
  if (!gate.try_enter()) {
    outcome.error = "too many TLS handshakes in progress";
    co_return outcome;
  }
  gate_pass pass(gate);
  auto session = std::make_unique<tls_codec>(std::move(context));
  {
    runtime::alarm deadline(runtime::clock::now() + limits.timeout, [&conn] {
      if (conn.fd() >= 0) ::shutdown(conn.fd(), SHUT_RDWR);
    });
    co_await run_steps(conn, *session, deadline, outcome);
  }  // disarmed here
  if (!outcome.ok) co_return outcome;
  outcome.client_common_name = session->client_common_name();
  outcome.protocol = session->negotiated_protocol();
  conn.set_codec(std::move(session));
  co_return outcome;
}

}  // namespace ringkv::net::tls
