// net/tls/tls_handshake.cc — see tls_handshake.h.
#include "net/tls/tls_handshake.h"

#include <sys/socket.h>

#include <cassert>

#include "net/tcp/endpoint.h"
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

namespace {

// The other end's IP address as text ("" when unknown).
std::string remote_ip(const connection& conn) {
  const std::string address = remote_address(conn);  // "1.2.3.4:port" or "[::1]:port"
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return "";
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  return host;
}

// Runs the handshake's steps within limits.timeout and installs the session when they succeed.
runtime::task<handshake_outcome> run_handshake(connection& conn, std::unique_ptr<tls_codec> session,
                                               const handshake_limits& limits) {
  handshake_outcome outcome;
  {
    runtime::alarm deadline(runtime::clock::now() + limits.timeout, [&conn] {
      if (conn.fd() >= 0) ::shutdown(conn.fd(), SHUT_RDWR);
    });
    co_await run_steps(conn, *session, deadline, outcome);
  }  // disarmed here
  if (!outcome.ok) co_return outcome;
  if (std::string refused = session->check_client_san(remote_ip(conn)); !refused.empty()) {
    outcome.ok = false;
    outcome.error = std::move(refused);
    co_return outcome;
  }
  outcome.client_common_name = session->client_common_name();
  outcome.protocol = session->negotiated_protocol();
  conn.set_codec(std::move(session));
  co_return outcome;
}

}  // namespace

std::string remote_address(const connection& conn) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (conn.fd() < 0 || ::getpeername(conn.fd(), reinterpret_cast<sockaddr*>(&address), &length) != 0) return "";
  return endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&address), length).to_string();
}

runtime::task<handshake_outcome> server_handshake(connection& conn, std::shared_ptr<const tls_context> context,
                                                  const handshake_limits& limits, handshake_gate& gate) {
  assert(!conn.has_codec() && !context->dialing());
  if (!gate.try_enter()) {
    handshake_outcome outcome;
    outcome.error = "too many TLS handshakes in progress";
    co_return outcome;
  }
  gate_pass pass(gate);
  co_return co_await run_handshake(conn, std::make_unique<tls_codec>(std::move(context)), limits);
}

runtime::task<handshake_outcome> client_handshake(connection& conn, std::shared_ptr<const tls_context> context,
                                                  const handshake_limits& limits, std::string server_host) {
  assert(!conn.has_codec() && context->dialing());
  co_return co_await run_handshake(conn, std::make_unique<tls_codec>(std::move(context), server_host), limits);
}

}  // namespace ringkv::net::tls
