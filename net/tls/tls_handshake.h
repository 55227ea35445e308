// net/tls/tls_handshake.h — a TLS handshake on an accepted connection (server side, bounded in time and
// in number) or on a dialed one (client side, for peer connections, bounded in time), and the installation of the session under the connection (tls_codec as its
// stream_codec) so that its user then reads and writes plain bytes.
//
//   client                        server_handshake (raw connection)
//   ClientHello ----------------> fill -> take_wire -> SSL_do_handshake
//               <---------------- write(drain_wire): ServerHello..Finished (+ CertificateRequest)
//   Certificate, Finished ------> fill -> take_wire -> SSL_do_handshake: done
//               <---------------- write(drain_wire): session tickets
//   conn.set_codec(session): the driver now sees plain HTTP/2 or HTTP/1.1
//
// Limits, each a named setting: the whole handshake must finish within `timeout` (else the socket is
// shut down and the handshake fails), and a shard runs at most `concurrent_max` handshakes at once
// (handshake_gate): a connection over the cap is refused at once instead of queued.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "net/tcp/connection.h"
#include "net/tls/tls_context.h"
#include "runtime/task.h"

namespace ringkv::net::tls {

struct handshake_limits {
  std::chrono::milliseconds timeout{10'000};  // from the first byte read to the session installed
  size_t concurrent_max = 256;                // handshakes in progress on one shard
};

// Counts one shard's handshakes in progress (touched on that shard only).
class handshake_gate {
 public:
  explicit handshake_gate(size_t concurrent_max) : concurrent_max_(concurrent_max) {}
  bool try_enter() {
    if (active_ >= concurrent_max_) return false;
    ++active_;
    return true;
  }
  void leave() { --active_; }
  size_t active() const { return active_; }

 private:
  size_t concurrent_max_;
  size_t active_ = 0;  // invariant: active_ <= concurrent_max_
};

struct handshake_outcome {
  bool ok = false;
  std::string error;               // why it failed (for the "rejected connection" log line)
  std::string client_common_name;  // the other side's verified certificate's CN, empty without one
  std::string protocol;            // the ALPN choice ("h2", "http/1.1") or empty
};

// Runs the handshake on `conn` (no codec yet) and, when it succeeds, installs the session as the
// connection's codec. On failure the connection is left for the caller to close.
runtime::task<handshake_outcome> server_handshake(connection& conn, std::shared_ptr<const tls_context> context,
                                                  const handshake_limits& limits, handshake_gate& gate);

// The other end's address as "ip:port" ("" when unknown), for the "rejected connection" log line; read
// it before a failed handshake shuts the socket down.
std::string remote_address(const connection& conn);

// The client side on a dialed connection (no codec yet) with a dialing context: verifies the
// listener's certificate for `server_host` (unless the context skips verification) and installs the
// session as the connection's codec. On failure the connection is left for the caller to close.
runtime::task<handshake_outcome> client_handshake(connection& conn, std::shared_ptr<const tls_context> context,
                                                  const handshake_limits& limits, std::string server_host);

}  // namespace ringkv::net::tls
