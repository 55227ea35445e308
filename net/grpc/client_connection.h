// Runs one accepted client-port connection on the runtime: detects the protocol from the first bytes,
// then drives a grpc_server_session (HTTP/2, gRPC) or answers HTTP/1.1 requests, until the peer leaves
// or misbehaves. Everything happens on the connection's shard. This is the one driver for every client
// connection the server serves.
//
//   reader coroutine                      session                 writer coroutine
//   fill() -> readable bytes ---------->  feed(): handlers run
//   consume(); wake writer ----------------------------------->  produce_output(); write(); repeat
//   (async replies: call->respond() -> notifier -> wake writer)
//
// One writer per connection produces and writes the session's output, so every frame that is ready
// leaves in one write and the output buffer never changes under a write in flight.
//
// HTTP/1.1: one request after another (keep-alive), each answered by the http_handler. A handler may
// answer with a streaming reply (http_reply::stream): the driver then hands the connection's output to
// that producer and reads the client's side only to learn when it goes away; the connection closes
// once the producer returns:
//
//   driver                                   producer (http_reply::stream)
//   request complete -> handler -> reply ->  write(head), write(chunk)... (bounded send buffer)
//   watch: fill() until EOF/error/shutdown -> client_gone(), gone callback (e.g. cancel its call)
//   producer returned -> flush, close   <--  write(last chunk); return
//
// Transport: a client_port_services::transport (the TLS handshake) runs first, on the raw socket, and
// may install a codec under the connection (net/tcp/stream_codec.h); everything above then reads and
// writes plain bytes, so this one driver serves plaintext and TLS connections alike.
//
// Defences, each closing only the offending connection: the preface deadline (the HTTP/2 preface and
// SETTINGS, or the first complete HTTP/1.1 request), the session's own (grpc_server_session.h; its
// timers - keepalive, unfinished requests - run on one alarm here), the HTTP/1.1 parser's limits
// (http1.h) and phase deadlines (header, body, idle keep-alive), and a read pause while replies queued on streams exceed
// queued_reply_bytes_read_limit and a socket write is waiting (a client that does not read). Replies
// held back only by HTTP/2 flow control do not pause reading: the client's WINDOW_UPDATE must be read.
#pragma once

#include "net/grpc/grpc_server_session.h"
#include "net/grpc/http1.h"
#include "net/tcp/connection.h"
#include "runtime/notifier.h"
#include "runtime/task.h"

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace ringkv::net::grpc {

// The output of a streaming HTTP/1.1 reply. The producer frames the response itself with http1's
// writers (write_chunked_head + append_chunk + append_last_chunk, or one whole write_response with
// keep_alive false); the connection closes after the producer returns whatever it wrote.
class http_stream {
 public:
  explicit http_stream(connection& conn) : conn_(conn) {}
  http_stream(const http_stream&) = delete;
  http_stream& operator=(const http_stream&) = delete;

  // Returns once `bytes` are handed to the kernel (the connection's send buffer is bounded: a slow
  // client makes this wait). False if the client is gone or the write failed.
  runtime::task<bool> write(std::string_view bytes);
  // The client closed its side, a write failed, or shutdown is ending the connection.
  bool client_gone() const { return gone_; }
  // Runs once when client_gone() becomes true, unless the producer has returned: a producer waiting
  // for data (e.g. a local_call's wait()) ends its wait from here.
  void set_gone_callback(std::function<void()> on_gone) { on_gone_ = std::move(on_gone); }

 private:
  friend struct http_stream_driver;
  void mark_gone();

  connection& conn_;
  bool gone_ = false;
  std::function<void()> on_gone_;
};

// Produces a streaming reply's body through `out`. Runs after the handler's task finished: it must
// own everything it uses (no views into the request).
using http_stream_producer = std::function<runtime::task<void>(http_stream& out)>;

struct http_reply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // Set for a streaming reply: the fields above are ignored, `stream` writes the whole response and
  // the connection closes after it.
  http_stream_producer stream;
};

// Answers one HTTP/1.1 request (views valid until the returned task finishes).
using http_handler = std::function<runtime::task<http_reply>(const http1::request& request)>;

struct client_port_config {
  server_limits grpc;
  http1::limits http;
  // The HTTP/2 preface and SETTINGS, or the first complete HTTP/1.1 request, must arrive within this.
  std::chrono::milliseconds preface_timeout{10'000};
  // Reading pauses while replies queued on streams exceed this (a client that does not read).
  size_t queued_reply_bytes_read_limit = 64 * 1024 * 1024;
  // HTTP/1.1 after the first request (which the preface_timeout bounds): a request's headers must be
  // complete within http_header_timeout of its first byte, its body within http_body_timeout of its
  // headers, and a keep-alive connection waiting for its next request is closed after
  // http_idle_timeout. Each closes the connection.
  std::chrono::milliseconds http_header_timeout{10'000};
  std::chrono::milliseconds http_body_timeout{30'000};
  std::chrono::milliseconds http_idle_timeout{60'000};
};

// Optional observers for the server's metrics; each runs on the connection's shard.
struct connection_hooks {
  std::function<void(size_t bytes)> grpc_received_bytes;  // HTTP/2 bytes read from a client
  std::function<void(size_t bytes)> grpc_sent_bytes;      // HTTP/2 bytes written to a client
  std::function<void(int delta)> open_connections;        // +1 when serving starts, -1 when it ends
};

// One connection being served, as a live set sees it.
struct live_member {
  connection* conn = nullptr;
  std::function<void()> stop;  // set by the protocol driver: ends its reader and writer
};

// The connections one shard is serving, so shutdown can end them (see close_client_connections).
// serve_client_connection inserts and erases its own member; only touched on the set's shard.
class live_connection_set {
 public:
  size_t size() const { return members_.size(); }
  bool empty() const { return members_.empty(); }

  void insert(live_member& member);  // stops it at once when the set is closing
  void erase(live_member& member);   // wakes close_client_connections when the set becomes empty

 private:
  friend runtime::task<void> close_client_connections(live_connection_set& live);

  std::unordered_set<live_member*> members_;
  bool closing_ = false;  // close_client_connections ran: members are stopped as they arrive
  runtime::notifier emptied_;
};

// What the transport set-up (the TLS handshake) learned about the client. The HTTP/2 session gives
// client_cert_cn to each of the connection's calls (server_call::client_cert_cn()).
struct transport_identity {
  std::string client_cert_cn;  // the verified client certificate's subject CN; empty without one
};
// Sets up the connection's transport before any protocol byte is read (e.g. a TLS handshake that
// installs its codec under `conn`). False refuses the connection: it is closed.
using transport_setup = std::function<runtime::task<bool>(connection& conn, transport_identity& identity)>;

struct client_port_services {
  const service_registry* grpc = nullptr;  // required
  transport_setup transport;               // optional: without it the connection is plaintext
  http_handler http;                       // optional: without it HTTP/1.1 requests get 404
  live_connection_set* live = nullptr;     // optional, this shard's: connections add themselves
  connection_hooks hooks;                  // optional
};

runtime::task<void> serve_client_connection(connection conn, const client_port_services& services,
                                            const client_port_config& config);

// Ends every connection in `live` (shutdown(2) of its socket wakes blocked reads and writes, and its
// driver stops; open calls are cancelled) and returns once each one's serve_client_connection has
// finished, woken by the last one to leave (no polling). Connections that join later are stopped as
// they arrive. Run on the set's shard at shutdown, after the listener stopped accepting.
runtime::task<void> close_client_connections(live_connection_set& live);

}  // namespace ringkv::net::grpc
