// gRPC client session over nghttp2: requests, response deframing, status from headers or trailers.
#include "net/grpc/grpc_client_session.h"

#include <array>
#include <cassert>
#include <charconv>
#include <memory>

namespace ringkv::net::grpc {

struct grpc_client_session::client_call {
  explicit client_call(size_t max_response_bytes) : deframer(max_response_bytes) {}

  call_callbacks callbacks;
  outbound_bytes out;
  message_deframer deframer;
  int http_status = 0;
  bool has_grpc_status = false;
  status result;
  bool done = false;  // on_done queued or ran
};

namespace {

// gRPC's mapping of HTTP statuses when no grpc-status came.
status_code code_for_http_status(int http_status) {
  switch (http_status) {
    case 400: return status_code::internal;
    case 401: return status_code::unauthenticated;
    case 403: return status_code::permission_denied;
    case 404: return status_code::unimplemented;
    case 429:
    case 502:
    case 503:
    case 504: return status_code::unavailable;
    default: return status_code::unknown;
  }
}

status status_for_reset(uint32_t error_code) {
  switch (error_code) {
    case NGHTTP2_REFUSED_STREAM: return {status_code::unavailable, "stream refused by the server"};
    case NGHTTP2_CANCEL: return {status_code::cancelled, "stream cancelled"};
    case NGHTTP2_ENHANCE_YOUR_CALM:
      return {status_code::resource_exhausted, "server asked to enhance our calm"};
    default: return {status_code::internal, "stream closed without a grpc-status"};
  }
}

}  // namespace

grpc_client_session::grpc_client_session(client_options options)
    : h2_session_base(options.output_batch_bytes_limit), options_(std::move(options)) {
  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_session_callbacks_new(&callbacks);
  install_output_callbacks(callbacks);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &on_data_chunk_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &on_stream_close);
  const int created =
      nghttp2_session_client_new3(&session_, callbacks, this, nullptr, allocator_.mem());
  nghttp2_session_callbacks_del(callbacks);
  assert(created == 0);
  (void)created;
  const std::array<nghttp2_settings_entry, 2> settings = {{
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, options_.stream_window_bytes},
  }};
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings.data(), settings.size());
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                        static_cast<int32_t>(options_.connection_window_bytes));
  request_flush();
}

grpc_client_session::~grpc_client_session() {
  nghttp2_session_del(session_);
  session_ = nullptr;
  for (const auto& [id, call] : live_) {
    std::unique_ptr<client_call> owned(call);
    if (!call->done && call->callbacks.on_done) {
      call->callbacks.on_done({status_code::unavailable, "connection closed"});
    }
  }
}

session_verdict grpc_client_session::feed(std::span<const uint8_t> bytes) {
  in_feed_ = true;
  const ssize_t result = nghttp2_session_mem_recv(session_, bytes.data(), bytes.size());
  dispatch_events();
  in_feed_ = false;
  return verdict_after_recv(result);
}

grpc_client_session::client_call* grpc_client_session::call_of(client_call_id id) const {
  const auto found = live_.find(id);
  return found == live_.end() ? nullptr : found->second;
}

client_call_id grpc_client_session::start_call(std::string_view path, call_callbacks callbacks,
                                               const metadata_list& metadata) {
  auto call = std::make_unique<client_call>(options_.max_response_bytes);
  call->callbacks = std::move(callbacks);
  std::vector<nghttp2_nv> fields = {
      header_field(":method", "POST"),
      header_field(":scheme", "http"),
      header_field(":path", path),
      header_field(":authority", options_.authority),
      header_field("content-type", "application/grpc"),
      header_field("te", "trailers")};
  for (const auto& [name, value] : metadata) fields.push_back(header_field(name, value));
  const nghttp2_data_provider provider = data_provider_for(&call->out);
  const int32_t id = nghttp2_submit_request(session_, nullptr, fields.data(), fields.size(),
                                            &provider, call.get());
  if (id < 0) return -1;
  live_.emplace(id, call.release());
  request_flush();
  return id;
}

bool grpc_client_session::write(client_call_id id, std::string_view message) {
  client_call* call = call_of(id);
  if (call == nullptr || call->out.end_after_data || call->done) return false;
  append_message_prefix(call->out.bytes, message.size());
  call->out.bytes.append(message);
  queued_stream_bytes_ += message_prefix_bytes + message.size();
  resume_stream_output(id, call->out);
  return true;
}

bool grpc_client_session::close_send(client_call_id id) {
  client_call* call = call_of(id);
  if (call == nullptr || call->out.end_after_data) return false;
  call->out.end_after_data = true;
  resume_stream_output(id, call->out);
  return true;
}

bool grpc_client_session::cancel(client_call_id id) {
  client_call* call = call_of(id);
  if (call == nullptr || call->done) return false;
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
  request_flush();
  return true;
}

client_call_id grpc_client_session::unary(std::string_view path, std::string_view request,
                                          unary_done done, const metadata_list& metadata) {
  // The response may arrive in an earlier feed() than the trailers: keep a copy until then.
  auto response = std::make_shared<std::string>();
  call_callbacks callbacks;
  callbacks.on_message = [response](std::string_view message) { response->assign(message); };
  callbacks.on_done = [response, done = std::move(done)](const status& result) {
    done(result, result.ok() ? std::string_view(*response) : std::string_view());
  };
  const client_call_id id = start_call(path, std::move(callbacks), metadata);
  if (id < 0) return id;
  write(id, request);
  close_send(id);
  return id;
}

void grpc_client_session::on_outbound_end(int32_t, uint32_t*) {
  // The request side simply ends with END_STREAM on the last DATA frame.
}

int grpc_client_session::on_header(nghttp2_session*, const nghttp2_frame* frame,
                                   const uint8_t* name_bytes, size_t name_length,
                                   const uint8_t* value_bytes, size_t value_length, uint8_t,
                                   void* user_data) {
  auto* self = static_cast<grpc_client_session*>(user_data);
  client_call* call = self->call_of(frame->hd.stream_id);
  if (call == nullptr) return 0;
  const std::string_view name = as_view(name_bytes, name_length);
  const std::string_view value = as_view(value_bytes, value_length);
  if (name == ":status") {
    std::from_chars(value.data(), value.data() + value.size(), call->http_status);
  } else if (name == "grpc-status") {
    call->has_grpc_status = true;
    call->result.code = parse_status_code(value);
  } else if (name == "grpc-message") {
    call->result.message = percent_decode(value);
  }
  return 0;
}

int grpc_client_session::on_data_chunk_recv(nghttp2_session*, uint8_t, int32_t stream_id,
                                            const uint8_t* data, size_t length,
                                            void* user_data) {
  auto* self = static_cast<grpc_client_session*>(user_data);
  client_call* call = self->call_of(stream_id);
  if (call == nullptr || call->done) return 0;
  const auto outcome = call->deframer.feed(as_view(data, length), [&](inbound_message&& message) {
    self->events_.push_back({call, stream_id, event_kind::message, std::move(message)});
  });
  if (outcome != message_deframer::outcome::ok) {
    call->has_grpc_status = true;
    call->result = outcome == message_deframer::outcome::too_large
                       ? message_too_large_status(call->deframer.declared_bytes(),
                                                  self->options_.max_response_bytes)
                       : status{status_code::internal, "compressed response not supported"};
    nghttp2_submit_rst_stream(self->session_, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_CANCEL);
    self->request_flush();
  }
  return 0;
}

int grpc_client_session::on_stream_close(nghttp2_session*, int32_t stream_id,
                                         uint32_t error_code, void* user_data) {
  auto* self = static_cast<grpc_client_session*>(user_data);
  client_call* call = self->call_of(stream_id);
  if (call == nullptr || call->done) return 0;
  self->queued_stream_bytes_ -= call->out.pending();  // never to be sent
  if (!call->has_grpc_status) {
    if (call->http_status != 0 && call->http_status != 200) {
      call->result = {code_for_http_status(call->http_status),
                      "HTTP status " + std::to_string(call->http_status)};
    } else {
      call->result = status_for_reset(error_code);
    }
  }
  call->done = true;
  self->events_.push_back({call, stream_id, event_kind::done, {}});
  return 0;
}

void grpc_client_session::dispatch_events() {
  for (size_t i = 0; i < events_.size(); ++i) {
    pending_event event = std::move(events_[i]);
    client_call* call = event.call;
    if (event.kind == event_kind::message) {
      if (call->callbacks.on_message) call->callbacks.on_message(event.message.bytes());
      continue;
    }
    // done: the call leaves the session.
    const size_t erased = live_.erase(event.id);
    assert(erased == 1);
    (void)erased;
    std::unique_ptr<client_call> owned(call);
    if (call->callbacks.on_done) call->callbacks.on_done(call->result);
  }
  events_.clear();
}

}  // namespace ringkv::net::grpc
