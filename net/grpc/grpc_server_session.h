// The server side of one client connection speaking gRPC over HTTP/2 cleartext (h2c with prior
// knowledge, as etcd clients connect). Pure memory in, memory out: the connection loop calls
// feed(received bytes), then produce_output() and writes pending_output(). Handlers run after
// nghttp2 has parsed the bytes (never inside nghttp2 callbacks), on the connection's shard.
//
// Defenses (each closes only the offending connection, with a GOAWAY where HTTP/2 allows one):
//   - client preface: nghttp2 checks the 24-byte magic; preface_received() lets the loop enforce a
//     deadline for the client's SETTINGS;
//   - rapid-reset floods: a token bucket on incoming RST_STREAM (stream_reset_burst/rate);
//   - CONTINUATION floods: at most max_continuation_frames after a HEADERS frame;
//   - oversized headers: decoded header list above max_header_list_bytes;
//   - PING/SETTINGS floods (queued ACKs) are refused by nghttp2 itself;
//   - max_concurrent_streams is advertised and enforced (REFUSED_STREAM);
//   - memory: what the connection's open calls, nghttp2's state and partly received requests hold is
//     bounded by connection_memory_bytes_limit: past it new streams are refused (REFUSED_STREAM) and
//     a call receiving more request bytes ends with ResourceExhausted; nghttp2's own allocations past
//     it fail (NOMEM) and close the connection;
//   - a unary call whose request has not ended (END_STREAM) within request_end_timeout is reset
//     (RST_STREAM CANCEL); a header block left unfinished that long closes the connection;
//   - keepalive as grpc-go's server runs it for etcd 3.4 (--grpc-keepalive-*): a PING after
//     keepalive_interval without anything read, the connection closed when nothing is read within
//     keepalive_timeout after it; a client pinging more often than ping_min_interval (while calls are
//     open; idle_ping_min_interval while none is, as PermitWithoutStream=false) gets a strike, each
//     HEADERS or DATA we send clears them, and a strike past ping_strikes_max gets GOAWAY
//     ENHANCE_YOUR_CALM "too_many_pings".
// Timers: the connection loop calls on_timer(now) once next_deadline() has passed; the session itself
// never sleeps.
#pragma once

#include "net/grpc/h2_session_base.h"
#include "net/grpc/server_call.h"
#include "net/grpc/service_registry.h"

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ringkv::net::grpc {

struct server_limits {
  size_t max_request_bytes = 1536 * 1024;  // etcd's --max-request-bytes default
  // etcd lets gRPC receive max_request_bytes + this (grpc-go's check, then its own in the server).
  size_t grpc_overhead_bytes = 512 * 1024;
  uint32_t max_concurrent_streams = 1024;
  uint32_t stream_window_bytes = 8 * 1024 * 1024;       // per-stream receive window
  uint32_t connection_window_bytes = 64 * 1024 * 1024;  // whole-connection receive window
  uint32_t max_header_list_bytes = 64 * 1024;
  size_t max_continuation_frames = 8;
  uint64_t stream_reset_burst = 1000;  // RST_STREAMs a client may send at once...
  uint64_t stream_reset_rate_per_s = 33;  // ...and per second after that
  size_t output_batch_bytes_limit = 1024 * 1024;  // pending output before nghttp2 waits for a write
  // Open calls (their metadata and partly received requests) plus nghttp2's allocations, per connection.
  size_t connection_memory_bytes_limit = 64 * 1024 * 1024;
  // A unary call's request (from its HEADERS on) must end with END_STREAM within this.
  std::chrono::milliseconds request_end_timeout{30'000};
  // Keepalive (etcd 3.4: --grpc-keepalive-interval, --grpc-keepalive-timeout, --grpc-keepalive-min-time).
  std::chrono::milliseconds keepalive_interval{std::chrono::hours(2)};
  std::chrono::milliseconds keepalive_timeout{20'000};
  std::chrono::milliseconds ping_min_interval{5'000};
  std::chrono::milliseconds idle_ping_min_interval{std::chrono::hours(2)};  // grpc-go's, no call open
  uint32_t ping_strikes_max = 2;  // grpc-go's maxPingStrikes

  size_t receive_message_bytes_max() const { return max_request_bytes + grpc_overhead_bytes; }
};

class grpc_server_session final : public h2_session_base, private call_output {
 public:
  grpc_server_session(const service_registry& registry, const server_limits& limits);
  ~grpc_server_session();  // cancels every open call (their on_cancel runs)

  // Hands received bytes to HTTP/2, then runs the handlers for what they completed.
  session_verdict feed(std::span<const uint8_t> bytes);
  // The client's SETTINGS arrived (the preface is complete).
  bool preface_received() const { return preface_received_; }
  size_t open_calls() const { return open_calls_; }
  // The connection's verified client certificate CN (TLS): every call started afterwards carries it
  // (server_call::client_cert_cn()). Empty: no certificate.
  void set_client_cert_cn(std::string_view common_name);
  uint64_t connection_key() const { return connection_key_; }

  using time_point = std::chrono::steady_clock::time_point;
  // When on_timer() has work next (a keepalive step, or the oldest unfinished request's deadline).
  time_point next_deadline() const;
  // Runs what is due at `now`: keepalive pings and their timeout, unfinished requests reset. Returns
  // closed when the connection must end now (keepalive unanswered); queued frames otherwise wait for
  // produce_output().
  session_verdict on_timer(time_point now);
  // What the connection holds in memory for its calls and nghttp2 (against connection_memory_bytes_limit).
  size_t held_bytes() const { return allocator_.live_bytes() + calls_bytes_; }
  uint64_t requests_timed_out() const { return requests_timed_out_; }

 private:
  friend class server_call;

  enum class event_kind : uint8_t { request, stream_open, stream_message, half_close, cancel, drained };
  struct pending_event {
    call_ref call;
    event_kind kind;
    inbound_message message;
  };

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user_data);
  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                       size_t name_length, const uint8_t* value, size_t value_length, uint8_t flags,
                       void* user_data);
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user_data);
  static int on_data_chunk_recv(nghttp2_session*, uint8_t flags, int32_t stream_id,
                                const uint8_t* data, size_t length, void* user_data);
  static int on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* user_data);
  static int on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t error_code,
                             void* user_data);

  server_call* call_of(int32_t stream_id) const;
  void route(server_call& call);
  void on_request_complete(server_call& call);
  void on_deframe_failure(server_call& call, message_deframer::outcome outcome);
  void on_memory_exceeded(server_call& call);
  void dispatch_events() override;
  void keep_borrowed_requests();
  void reject_http(server_call& call, std::string_view http_status);

  // server_call's operations (call_output).
  void on_reserve(server_call& call, size_t bytes) override;
  void on_queued(server_call& call) override;
  void on_finish(server_call& call) override;
  void start_response(server_call& call);
  void finish_call(server_call& call);
  void on_outbound_end(int32_t stream_id, uint32_t* data_flags) override;
  void on_outbound_drained(outbound_bytes& out) override;
  // The registry's call_observer: started once routed to a method, handled once (status or cancelled).
  void count_started(server_call& call);
  void count_handled(server_call& call, status_code code);
  void link(server_call& call);
  void unlink(server_call& call);
  // The unary calls whose request has not ended, oldest first (each with its request_deadline_).
  void await_request_end(server_call& call);
  void stop_awaiting(server_call& call);
  // Re-counts what `call` holds into calls_bytes_.
  void recharge(server_call& call);
  void on_ping(bool ack);
  void expire_requests(time_point now);

  const service_registry& registry_;
  const server_limits limits_;
  const uint64_t connection_key_ = new_connection_key();  // given to each of its calls
  std::vector<pending_event> events_;
  std::vector<call_ref> borrowed_requests_;  // unary requests still pointing into feed()'s bytes
  server_call* live_head_ = nullptr;
  size_t open_calls_ = 0;
  bool preface_received_ = false;
  size_t calls_bytes_ = 0;  // what open calls hold (server_call::memory_charge_ summed)
  server_call* awaiting_head_ = nullptr;  // unary calls waiting for END_STREAM, oldest first
  server_call* awaiting_tail_ = nullptr;
  uint64_t requests_timed_out_ = 0;
  time_point now_;                   // when the current feed() began
  time_point keepalive_due_;         // next keepalive step
  bool read_since_keepalive_ = false;  // grpc-go's "activity": anything read since the last step
  bool keepalive_ping_out_ = false;    // our PING is out: nothing read by keepalive_due_ closes
  time_point last_client_ping_{};    // grpc-go's lastPingAt (zero time at first)
  uint32_t ping_strikes_ = 0;
  bool reset_ping_strikes_ = false;  // we sent HEADERS or DATA since the last client PING
  std::string identity_metadata_;  // each call's first metadata pair: client_cert_cn_key and the CN
};

}  // namespace ringkv::net::grpc
