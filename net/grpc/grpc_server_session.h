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
//   - max_concurrent_streams is advertised and enforced (REFUSED_STREAM).
#pragma once

#include "net/grpc/h2_session_base.h"
#include "net/grpc/server_call.h"
#include "net/grpc/service_registry.h"

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

  const service_registry& registry_;
  const server_limits limits_;
  const uint64_t connection_key_ = new_connection_key();  // given to each of its calls
  std::vector<pending_event> events_;
  std::vector<call_ref> borrowed_requests_;  // unary requests still pointing into feed()'s bytes
  server_call* live_head_ = nullptr;
  size_t open_calls_ = 0;
  bool preface_received_ = false;
  std::string identity_metadata_;  // each call's first metadata pair: client_cert_cn_key and the CN
};

}  // namespace ringkv::net::grpc
