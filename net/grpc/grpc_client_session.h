// The client side of a gRPC-over-HTTP/2 connection, driven by memory buffers like the server session:
// the caller writes pending_output() to the socket and feed()s what comes back. Used by tests and the
// load generator; unary, server-streaming and bidirectional calls. Callbacks run after nghttp2 has
// parsed the bytes (never inside it), so they may start new calls.
#pragma once

#include "net/grpc/grpc_status.h"
#include "net/grpc/h2_session_base.h"

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ringkv::net::grpc {

struct client_options {
  std::string authority = "127.0.0.1";
  uint32_t stream_window_bytes = 8 * 1024 * 1024;
  uint32_t connection_window_bytes = 64 * 1024 * 1024;
  size_t max_response_bytes = 64 * 1024 * 1024;
  size_t output_batch_bytes_limit = 1024 * 1024;
};

// A call handle: the HTTP/2 stream id. Unknown or finished ids are ignored by write/close/cancel.
using client_call_id = int32_t;

class grpc_client_session final : public h2_session_base {
 public:
  struct call_callbacks {
    std::function<void(std::string_view message)> on_message;  // bytes valid during the call
    std::function<void(const status& result)> on_done;         // exactly once, last
  };
  using unary_done = std::function<void(const status& result, std::string_view response)>;
  using metadata_list = std::vector<std::pair<std::string, std::string>>;

  explicit grpc_client_session(client_options options = {});
  ~grpc_client_session();  // unfinished calls end with unavailable

  session_verdict feed(std::span<const uint8_t> bytes);

  // Opens a call to `path` ("/package.Service/Method"); returns its id, or -1 if the session refused.
  client_call_id start_call(std::string_view path, call_callbacks callbacks,
                            const metadata_list& metadata = {});
  bool write(client_call_id id, std::string_view message);
  bool close_send(client_call_id id);  // END_STREAM once the queued messages are out
  bool cancel(client_call_id id);      // RST_STREAM(CANCEL); on_done gets cancelled
  // Unary call: one request, one response (empty view when the status is not ok).
  client_call_id unary(std::string_view path, std::string_view request, unary_done done,
                       const metadata_list& metadata = {});

  size_t open_calls() const { return live_.size(); }

 private:
  struct client_call;
  enum class event_kind : uint8_t { message, done };
  struct pending_event {
    client_call* call;
    client_call_id id;
    event_kind kind;
    inbound_message message;
  };

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                       size_t name_length, const uint8_t* value, size_t value_length, uint8_t flags,
                       void* user_data);
  static int on_data_chunk_recv(nghttp2_session*, uint8_t flags, int32_t stream_id,
                                const uint8_t* data, size_t length, void* user_data);
  static int on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t error_code,
                             void* user_data);
  void on_outbound_end(int32_t stream_id, uint32_t* data_flags) override;

  client_call* call_of(client_call_id id) const;
  void dispatch_events() override;

  client_options options_;
  std::vector<pending_event> events_;
  // Calls not yet done, by stream id (nghttp2 opens the stream only once HEADERS go out, so its
  // stream user data cannot be used before that).
  std::unordered_map<client_call_id, client_call*> live_;
};

}  // namespace ringkv::net::grpc
