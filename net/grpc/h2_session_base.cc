// Shared HTTP/2 plumbing for the gRPC sessions: output buffer, NO_COPY DATA, verdicts.
#include "net/grpc/h2_session_base.h"

#include <cassert>
#include <cstring>

namespace ringkv::net::grpc {

inline constexpr size_t frame_header_bytes = 9;

h2_session_base::~h2_session_base() {
  if (session_ != nullptr) nghttp2_session_del(session_);
}

void h2_session_base::consume_output(size_t bytes) {
  assert(bytes <= output_.size() - output_sent_);
  output_sent_ += bytes;
  if (output_sent_ == output_.size()) {
    output_.clear();
    output_sent_ = 0;
  }
}

session_verdict h2_session_base::produce_output() {
  flush_requested_ = false;
  if (fatal_) return session_verdict::closed;
  if (const int result = nghttp2_session_send(session_); result != 0) {
    fatal_ = true;
    if (close_reason_.empty()) close_reason_ = nghttp2_strerror(result);
  }
  dispatch_events();
  return current_verdict();
}

bool h2_session_base::wants_io() const {
  if (fatal_) return false;
  return nghttp2_session_want_read(session_) != 0 || nghttp2_session_want_write(session_) != 0 ||
         has_output();
}

session_verdict h2_session_base::current_verdict() const {
  if (fatal_) return session_verdict::closed;
  if (goaway_out_) return has_output() ? session_verdict::closing : session_verdict::closed;
  if (nghttp2_session_want_read(session_) != 0 || nghttp2_session_want_write(session_) != 0) {
    return session_verdict::open;
  }
  return has_output() ? session_verdict::closing : session_verdict::closed;
}

session_verdict h2_session_base::verdict_after_recv(ssize_t recv_result) {
  if (recv_result < 0) {
    fatal_ = true;
    if (close_reason_.empty()) close_reason_ = nghttp2_strerror(static_cast<int>(recv_result));
    return session_verdict::closed;
  }
  return current_verdict();
}

void h2_session_base::request_flush() {
  if (flush_requested_) return;
  flush_requested_ = true;
  if (!in_feed_ && notify_ != nullptr) notify_(notify_context_);
}

void h2_session_base::resume_stream_output(int32_t stream_id, outbound_bytes& out) {
  if (out.deferred) {
    out.deferred = false;
    nghttp2_session_resume_data(session_, stream_id);
  }
  request_flush();
}

void h2_session_base::fail_connection(uint32_t error_code, std::string reason) {
  if (close_reason_.empty()) close_reason_ = std::move(reason);
  nghttp2_session_terminate_session(session_, error_code);
  request_flush();
}

void h2_session_base::fail_connection_with_debug_data(uint32_t error_code, std::string_view debug_data,
                                                      std::string reason) {
  if (close_reason_.empty()) close_reason_ = std::move(reason);
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_), error_code,
                        reinterpret_cast<const uint8_t*>(debug_data.data()), debug_data.size());
  closing_after_goaway_ = true;
  request_flush();
}

void h2_session_base::drop_connection(std::string reason) {
  if (close_reason_.empty()) close_reason_ = std::move(reason);
  fatal_ = true;
}

void h2_session_base::install_output_callbacks(nghttp2_session_callbacks* callbacks) {
  nghttp2_session_callbacks_set_send_callback(callbacks, &send_callback);
  nghttp2_session_callbacks_set_send_data_callback(callbacks, &send_data_callback);
}

nghttp2_data_provider h2_session_base::data_provider_for(outbound_bytes* out) {
  nghttp2_data_provider provider{};
  provider.source.ptr = out;
  provider.read_callback = &read_data_callback;
  return provider;
}

ssize_t h2_session_base::send_callback(nghttp2_session*, const uint8_t* data, size_t length, int,
                                       void* user_data) {
  auto* self = static_cast<h2_session_base*>(user_data);
  if (self->output_full()) return NGHTTP2_ERR_WOULDBLOCK;
  self->output_.append(reinterpret_cast<const char*>(data), length);
  return static_cast<ssize_t>(length);
}

int h2_session_base::send_data_callback(nghttp2_session*, nghttp2_frame* frame,
                                        const uint8_t* frame_header, size_t length,
                                        nghttp2_data_source* source, void* user_data) {
  auto* self = static_cast<h2_session_base*>(user_data);
  if (self->output_full()) return NGHTTP2_ERR_WOULDBLOCK;
  assert(frame->data.padlen == 0);  // we never ask for padding
  auto* out = static_cast<outbound_bytes*>(source->ptr);
  self->output_.append(reinterpret_cast<const char*>(frame_header), frame_header_bytes);
  self->output_.append(out->next(length));
  out->consume(length);
  assert(self->queued_stream_bytes_ >= length);
  self->queued_stream_bytes_ -= length;
  if (out->drain_watched && out->pending() == 0) self->on_outbound_drained(*out);
  return 0;
}

ssize_t h2_session_base::read_data_callback(nghttp2_session*, int32_t stream_id, uint8_t*,
                                            size_t length, uint32_t* data_flags,
                                            nghttp2_data_source* source, void* user_data) {
  auto* self = static_cast<h2_session_base*>(user_data);
  auto* out = static_cast<outbound_bytes*>(source->ptr);
  const size_t pending = out->pending();
  if (pending == 0 && !out->end_after_data) {
    out->deferred = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  const size_t take = pending < length ? pending : length;
  if (take > 0) *data_flags |= NGHTTP2_DATA_FLAG_NO_COPY;
  if (take == pending && out->end_after_data) {
    *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    self->on_outbound_end(stream_id, data_flags);
  }
  return static_cast<ssize_t>(take);
}

}  // namespace ringkv::net::grpc
