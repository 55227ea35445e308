// What the gRPC server and client sessions share: one nghttp2 session driven purely by memory
// buffers, and the connection's output buffer. No sockets here: the connection loop hands received
// bytes to feed() and writes out what pending_output() shows, then calls consume_output().
//
// Output is produced with nghttp2_session_send() into one contiguous buffer (batching every frame
// that is ready into one write), and DATA payloads use NGHTTP2_DATA_FLAG_NO_COPY so message bytes are
// copied once, from the stream's queue straight into that buffer.
#pragma once

#include "net/grpc/grpc_framing.h"
#include "net/grpc/h2_allocator.h"

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace ringkv::net::grpc {

// nghttp2's byte pointers as text, and a header field for nghttp2_submit_* (nghttp2 copies it unless
// `flags` says the name/value live long enough).
inline std::string_view as_view(const uint8_t* data, size_t length) {
  return {reinterpret_cast<const char*>(data), length};
}
inline nghttp2_nv header_field(std::string_view name, std::string_view value,
                               uint8_t flags = NGHTTP2_NV_FLAG_NONE) {
  return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), flags};
}

// What the connection loop should do after feed() or when output was produced.
enum class session_verdict : uint8_t {
  open,     // keep reading and writing
  closing,  // write out pending_output() (e.g. a GOAWAY), then close the connection
  closed,   // close the connection now
};

class h2_session_base {
 public:
  h2_session_base(const h2_session_base&) = delete;
  h2_session_base& operator=(const h2_session_base&) = delete;

  // Bytes ready to be written, in order. Stable until consume_output() or the next produce.
  std::span<const uint8_t> pending_output() const {
    return {reinterpret_cast<const uint8_t*>(output_.data()) + output_sent_,
            output_.size() - output_sent_};
  }
  bool has_output() const { return output_.size() > output_sent_; }
  void consume_output(size_t bytes);

  // Lets nghttp2 serialize every frame that is ready (up to output_batch_bytes_limit buffered).
  // The connection loop calls this after feed() and when notified that calls queued output.
  session_verdict produce_output();

  // Called (once per batch) when a call queues output outside feed(), e.g. a reply coming back
  // from another shard: the connection loop should then produce_output() and write.
  void set_output_ready_notifier(void (*notify)(void* context), void* context) {
    notify_ = notify;
    notify_context_ = context;
  }

  // The connection is going away: the loop will not read or write this session any more.
  bool wants_io() const;
  // nghttp2 has frames ready that the last produce_output() left (it stops at the batch limit).
  bool wants_write() const { return session_ != nullptr && nghttp2_session_want_write(session_) != 0; }

  // Message bytes queued on streams and not yet taken into the output buffer (flow control, or a
  // peer that does not read). The connection loop stops reading while this is over its limit, so a
  // client pipelining requests without reading replies cannot make the server buffer without bound.
  size_t queued_stream_bytes() const { return queued_stream_bytes_; }
  const std::string& close_reason() const { return close_reason_; }

 protected:
  explicit h2_session_base(size_t output_batch_bytes_limit)
      : output_batch_bytes_limit_(output_batch_bytes_limit) {}
  ~h2_session_base();

  // Installs the callbacks every session needs (send, NO_COPY data) into `callbacks`.
  static void install_output_callbacks(nghttp2_session_callbacks* callbacks);
  // A data provider that drains `out` (NO_COPY).
  static nghttp2_data_provider data_provider_for(outbound_bytes* out);

  // Hook: `out` of `stream_id` is drained and ends (end_after_data): the server sends trailers
  // (sets NO_END_STREAM and submits them), the client just lets END_STREAM go.
  virtual void on_outbound_end(int32_t stream_id, uint32_t* data_flags) = 0;
  // Hook: `out` (with drain_watched set) was fully taken into the output buffer. Runs inside nghttp2:
  // only record it.
  virtual void on_outbound_drained(outbound_bytes& /*out*/) {}
  // Hook: nghttp2 returned from a send; run callbacks for what it completed (streams it closed).
  virtual void dispatch_events() = 0;

  // Queued bytes for a stream whose provider may be parked: resume it and ask for a flush.
  void resume_stream_output(int32_t stream_id, outbound_bytes& out);
  void request_flush();
  // Terminates the session with a GOAWAY carrying `error_code`; the connection closes once it is out.
  void fail_connection(uint32_t error_code, std::string reason);
  // The same with GOAWAY debug data (grpc-go's "too_many_pings", which its clients act on). The
  // subclass calls goaway_sent() from its on_frame_send callback.
  void fail_connection_with_debug_data(uint32_t error_code, std::string_view debug_data, std::string reason);
  void goaway_sent() { goaway_out_ = closing_after_goaway_; }
  // The connection ends now, nothing more is written (e.g. a keepalive PING left unanswered).
  void drop_connection(std::string reason);
  // Result of nghttp2_session_mem_recv: translates fatal errors into a verdict.
  session_verdict verdict_after_recv(ssize_t recv_result);
  session_verdict current_verdict() const;

  h2_allocator allocator_;  // declared before session_: outlives it
  nghttp2_session* session_ = nullptr;
  size_t queued_stream_bytes_ = 0;
  bool flush_requested_ = false;
  bool in_feed_ = false;  // feed() will produce output itself: no notification needed
  std::string close_reason_;

 private:
  static ssize_t send_callback(nghttp2_session*, const uint8_t* data, size_t length, int flags,
                               void* user_data);
  static int send_data_callback(nghttp2_session*, nghttp2_frame* frame, const uint8_t* frame_header,
                                size_t length, nghttp2_data_source* source, void* user_data);
  static ssize_t read_data_callback(nghttp2_session*, int32_t stream_id, uint8_t* buf,
                                    size_t length, uint32_t* data_flags,
                                    nghttp2_data_source* source, void* user_data);
  bool output_full() const { return output_.size() - output_sent_ >= output_batch_bytes_limit_; }

  std::string output_;
  size_t output_sent_ = 0;
  size_t output_batch_bytes_limit_;
  void (*notify_)(void*) = nullptr;
  void* notify_context_ = nullptr;
  bool fatal_ = false;
  bool closing_after_goaway_ = false;  // fail_connection_with_debug_data: close once the GOAWAY is out
  bool goaway_out_ = false;
};

}  // namespace ringkv::net::grpc
