// gRPC server session over nghttp2: routing, deframing, handler dispatch, responses and trailers.
#include "net/grpc/grpc_server_session.h"

#include <array>
#include <cassert>
#include <cstring>
#include <string>

namespace ringkv::net::grpc {

namespace {

// Names and values that live forever need no copy inside nghttp2.
constexpr uint8_t static_header = NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE;

bool is_grpc_content_type(std::string_view value) {
  constexpr std::string_view grpc = "application/grpc";
  if (value.substr(0, grpc.size()) != grpc) return false;
  return value.size() == grpc.size() || value[grpc.size()] == '+' || value[grpc.size()] == ';';
}

// Request headers every gRPC client sends that handlers never need.
bool is_transport_header(std::string_view name) {
  return name == "te" || name == "user-agent" || name == "grpc-accept-encoding" ||
         name == "accept-encoding";
}

// Fills `fields` with grpc-status (+ grpc-message) for `result`; `encoded` keeps the message alive.
size_t status_headers(const status& result, std::string& encoded, nghttp2_nv* fields) {
  fields[0] = header_field("grpc-status", status_code_text(result.code), static_header);
  if (result.message.empty()) return 1;
  percent_encode_append(encoded, result.message);
  fields[1] = header_field("grpc-message", encoded, NGHTTP2_NV_FLAG_NO_COPY_NAME);
  return 2;
}

}  // namespace

// ---- server_call --------------------------------------------------------------------------------

std::string_view server_call::path() const {
  return method_ != nullptr ? std::string_view(method_->path) : std::string_view(unknown_path_);
}

std::string_view server_call::metadata(std::string_view name) const {
  std::string_view rest = metadata_;
  while (!rest.empty()) {
    const size_t name_end = rest.find('\0');
    const size_t value_end = rest.find('\0', name_end + 1);
    assert(name_end != std::string_view::npos && value_end != std::string_view::npos);
    if (rest.substr(0, name_end) == name) return rest.substr(name_end + 1, value_end - name_end - 1);
    rest.remove_prefix(value_end + 1);
  }
  return {};
}

bool server_call::write(std::string_view message) {
  if (!alive()) return false;
  uint8_t* body = reserve_message(message.size());
  if (!message.empty()) std::memcpy(body, message.data(), message.size());
  return queue_output();
}

bool server_call::begin_message(size_t body_bytes) {
  if (!alive()) return false;
  assert(partial_message_left_ == 0);
  output_->on_reserve(*this, message_prefix_bytes);
  append_message_prefix(out_.bytes, body_bytes);
  partial_message_left_ = body_bytes;
  return queue_output();
}

bool server_call::write_message_bytes(std::string_view piece) {
  if (!alive()) return false;
  assert(piece.size() <= partial_message_left_);
  output_->on_reserve(*this, piece.size());
  out_.bytes.append(piece);
  partial_message_left_ -= piece.size();
  return queue_output();
}

uint8_t* server_call::reserve_message(size_t bytes) {
  assert(alive());
  assert(partial_message_left_ == 0);  // not inside a message sent in pieces
  output_->on_reserve(*this, message_prefix_bytes + bytes);
  append_message_prefix(out_.bytes, bytes);
  const size_t body_offset = out_.bytes.size();
  out_.bytes.resize(body_offset + bytes);
  return reinterpret_cast<uint8_t*>(out_.bytes.data() + body_offset);
}

bool server_call::queue_output() {
  output_->on_queued(*this);
  return true;
}

bool server_call::finish(const status& result) {
  if (!alive()) return false;
  assert(partial_message_left_ == 0 || !result.ok());  // a message sent in pieces ends whole, or the call fails
  finished_ = true;
  trailer_status_ = result;
  output_->on_finish(*this);
  return true;
}

// ---- session setup ------------------------------------------------------------------------------

grpc_server_session::grpc_server_session(const service_registry& registry,
                                         const server_limits& limits)
    : h2_session_base(limits.output_batch_bytes_limit), registry_(registry), limits_(limits) {
  now_ = std::chrono::steady_clock::now();
  keepalive_due_ = now_ + limits_.keepalive_interval;
  last_client_ping_ = time_point::min();
  allocator_.set_live_bytes_limit(limits_.connection_memory_bytes_limit);
  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_session_callbacks_new(&callbacks);
  install_output_callbacks(callbacks);
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, &on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &on_data_chunk_recv);
  nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, &on_frame_send);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &on_stream_close);

  nghttp2_option* options = nullptr;
  nghttp2_option_new(&options);
  nghttp2_option_set_max_continuations(options, limits_.max_continuation_frames);
  nghttp2_option_set_stream_reset_rate_limit(options, limits_.stream_reset_burst,
                                             limits_.stream_reset_rate_per_s);
  // Closed streams are not kept around for late frames: with hundreds of calls a second that list is
  // what nghttp2's stream lookup walks through (measured: -15% server CPU per put).
  nghttp2_option_set_no_closed_streams(options, 1);
  // nghttp2's HTTP semantics checks are off: gRPC clients (grpc-go's passthrough resolver, used by
  // `etcdctl endpoint status --cluster`) send an :authority such as "http://127.0.0.1:2379", which
  // nghttp2 refuses and grpc-go/etcd accept. This session checks what gRPC needs itself: POST (405),
  // a gRPC content-type (415), a known :path (UNIMPLEMENTED), header bytes (431) and message sizes.
  nghttp2_option_set_no_http_messaging(options, 1);
  const int created = nghttp2_session_server_new3(&session_, callbacks, this, options,
                                                   allocator_.mem());
  nghttp2_option_del(options);
  nghttp2_session_callbacks_del(callbacks);
  assert(created == 0);
  (void)created;

  const std::array<nghttp2_settings_entry, 3> settings = {{
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, limits_.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, limits_.stream_window_bytes},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, limits_.max_header_list_bytes},
  }};
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings.data(), settings.size());
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                        static_cast<int32_t>(limits_.connection_window_bytes));
  request_flush();
}

grpc_server_session::~grpc_server_session() {
  // Free nghttp2 first (its streams point at our calls), detach every open call so none can reach
  // this session any more, then tell their handlers.
  nghttp2_session_del(session_);
  session_ = nullptr;
  std::vector<call_ref> open;
  open.reserve(open_calls_);
  while (live_head_ != nullptr) {
    server_call* call = live_head_;
    unlink(*call);
    open.emplace_back(call);
    --call->refs_;  // the session's own reference now lives in `open`
    call->output_ = nullptr;
  }
  for (const call_ref& call : open) {
    if (!call->finished_) count_handled(*call, status_code::cancelled);
    if (!call->finished_ && call->callbacks_.on_cancel) call->callbacks_.on_cancel();
  }
}

session_verdict grpc_server_session::feed(std::span<const uint8_t> bytes) {
  in_feed_ = true;
  now_ = std::chrono::steady_clock::now();
  if (!bytes.empty()) read_since_keepalive_ = true;
  const ssize_t result = nghttp2_session_mem_recv(session_, bytes.data(), bytes.size());
  dispatch_events();
  keep_borrowed_requests();
  in_feed_ = false;
  return verdict_after_recv(result);
}

void grpc_server_session::keep_borrowed_requests() {
  for (const call_ref& call : borrowed_requests_) {
    inbound_message& request = call->request_;
    if (!call->has_request_ || request.is_owned || request.borrowed.data() == nullptr) continue;
    // END_STREAM is still to come in a later feed(): keep a copy (with the prefix bytes, as owned
    // messages are laid out).
    std::string owned(message_prefix_bytes, '\0');
    owned.append(request.borrowed);
    request = inbound_message{{}, std::move(owned), true};
    recharge(*call);
  }
  borrowed_requests_.clear();
}

server_call* grpc_server_session::call_of(int32_t stream_id) const {
  return static_cast<server_call*>(nghttp2_session_get_stream_user_data(session_, stream_id));
}

void grpc_server_session::link(server_call& call) {
  call.live_next_ = live_head_;
  if (live_head_ != nullptr) live_head_->live_prev_ = &call;
  live_head_ = &call;
  ++open_calls_;
}

void grpc_server_session::unlink(server_call& call) {
  stop_awaiting(call);
  assert(calls_bytes_ >= call.memory_charge_);
  calls_bytes_ -= call.memory_charge_;
  call.memory_charge_ = 0;
  if (call.live_prev_ != nullptr) call.live_prev_->live_next_ = call.live_next_;
  if (call.live_next_ != nullptr) call.live_next_->live_prev_ = call.live_prev_;
  if (live_head_ == &call) live_head_ = call.live_next_;
  call.live_prev_ = call.live_next_ = nullptr;
  --open_calls_;
}

void grpc_server_session::recharge(server_call& call) {
  if (call.closed_ || call.output_ != this) return;  // unlinked: no longer counted
  const size_t charge = sizeof(server_call) + call.metadata_.capacity() + call.unknown_path_.capacity() +
                        call.deframer_.buffered_capacity() + (call.request_.is_owned ? call.request_.owned.capacity() : 0);
  calls_bytes_ = calls_bytes_ - call.memory_charge_ + charge;
  call.memory_charge_ = charge;
}

void grpc_server_session::await_request_end(server_call& call) {
  assert(!call.awaiting_request_end_);
  call.awaiting_request_end_ = true;
  call.request_deadline_ = now_ + limits_.request_end_timeout;
  call.awaiting_prev_ = awaiting_tail_;
  call.awaiting_next_ = nullptr;
  if (awaiting_tail_ != nullptr) awaiting_tail_->awaiting_next_ = &call;
  else awaiting_head_ = &call;
  awaiting_tail_ = &call;
}

void grpc_server_session::stop_awaiting(server_call& call) {
  if (!call.awaiting_request_end_) return;
  call.awaiting_request_end_ = false;
  if (call.awaiting_prev_ != nullptr) call.awaiting_prev_->awaiting_next_ = call.awaiting_next_;
  else awaiting_head_ = call.awaiting_next_;
  if (call.awaiting_next_ != nullptr) call.awaiting_next_->awaiting_prev_ = call.awaiting_prev_;
  else awaiting_tail_ = call.awaiting_prev_;
  call.awaiting_prev_ = call.awaiting_next_ = nullptr;
}

// ---- timers: keepalive and unfinished requests --------------------------------------------------

grpc_server_session::time_point grpc_server_session::next_deadline() const {
  if (awaiting_head_ != nullptr && awaiting_head_->request_deadline_ < keepalive_due_) {
    return awaiting_head_->request_deadline_;
  }
  return keepalive_due_;
}

session_verdict grpc_server_session::on_timer(time_point now) {
  if (now >= keepalive_due_) {
    if (read_since_keepalive_) {
      read_since_keepalive_ = false;
      keepalive_ping_out_ = false;
      keepalive_due_ = now + limits_.keepalive_interval;
    } else if (keepalive_ping_out_) {
      drop_connection("keepalive ping not answered");  // as grpc-go: closed without a GOAWAY
      return session_verdict::closed;
    } else {
      nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, nullptr);
      keepalive_ping_out_ = true;
      keepalive_due_ = now + limits_.keepalive_timeout;
      request_flush();
    }
  }
  expire_requests(now);
  return current_verdict();
}

void grpc_server_session::expire_requests(time_point now) {
  while (awaiting_head_ != nullptr && awaiting_head_->request_deadline_ <= now) {
    server_call& call = *awaiting_head_;
    stop_awaiting(call);
    ++requests_timed_out_;
    if (!call.headers_complete_) {
      // The header block never ended: nothing else may come on this connection until it does.
      fail_connection(NGHTTP2_ENHANCE_YOUR_CALM, "request headers not finished in time");
      return;
    }
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, call.stream_id_, NGHTTP2_CANCEL);
    request_flush();
  }
}

// grpc-go's handlePing: a PING sooner than the policy allows after the previous one is a strike,
// unless we sent HEADERS or DATA since (then the count starts over); too many strikes end the
// connection with the GOAWAY grpc clients recognise.
void grpc_server_session::on_ping(bool ack) {
  if (ack) return;  // the answer to our keepalive PING: reading it was the activity
  const time_point previous = last_client_ping_;
  last_client_ping_ = now_;
  if (reset_ping_strikes_) {
    reset_ping_strikes_ = false;
    ping_strikes_ = 0;
    return;
  }
  const auto allowed = open_calls_ == 0 ? limits_.idle_ping_min_interval : limits_.ping_min_interval;
  if (previous + allowed > now_) ++ping_strikes_;
  if (ping_strikes_ == limits_.ping_strikes_max + 1) {  // once: the connection ends after this GOAWAY
    fail_connection_with_debug_data(NGHTTP2_ENHANCE_YOUR_CALM, "too_many_pings", "got too many pings from the client");
  }
}

void grpc_server_session::set_client_cert_cn(std::string_view common_name) {
  identity_metadata_.clear();
  if (common_name.empty()) return;
  identity_metadata_.append(client_cert_cn_key).push_back('\0');
  identity_metadata_.append(common_name).push_back('\0');
}

// ---- nghttp2 callbacks --------------------------------------------------------------------------

int grpc_server_session::on_begin_headers(nghttp2_session*, const nghttp2_frame* frame,
                                          void* user_data) {
  auto* self = static_cast<grpc_server_session*>(user_data);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  if (self->held_bytes() + sizeof(server_call) > self->limits_.connection_memory_bytes_limit) {
    // No call object: the rest of this stream's frames are ignored, and the client may retry.
    nghttp2_submit_rst_stream(self->session_, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_REFUSED_STREAM);
    return 0;
  }
  auto* call = new server_call(self, frame->hd.stream_id,
                               self->limits_.receive_message_bytes_max());
  ++call->refs_;  // the session's reference, dropped when the stream closes
  call->metadata_ = self->identity_metadata_;
  call->connection_key_ = self->connection_key_;
  self->link(*call);
  self->recharge(*call);
  self->await_request_end(*call);  // a streaming method leaves the list once routed
  nghttp2_session_set_stream_user_data(self->session_, frame->hd.stream_id, call);
  return 0;
}

int grpc_server_session::on_header(nghttp2_session*, const nghttp2_frame* frame,
                                   const uint8_t* name_bytes, size_t name_length,
                                   const uint8_t* value_bytes, size_t value_length, uint8_t,
                                   void* user_data) {
  auto* self = static_cast<grpc_server_session*>(user_data);
  server_call* call = self->call_of(frame->hd.stream_id);
  if (call == nullptr) return 0;
  constexpr size_t per_header_overhead_bytes = 32;  // as SETTINGS_MAX_HEADER_LIST_SIZE counts
  call->header_bytes_ += name_length + value_length + per_header_overhead_bytes;
  if (call->header_bytes_ > self->limits_.max_header_list_bytes) {
    self->fail_connection(NGHTTP2_ENHANCE_YOUR_CALM, "request headers over the limit");
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
  if (frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;  // trailers: nothing we use
  const std::string_view name = as_view(name_bytes, name_length);
  const std::string_view value = as_view(value_bytes, value_length);
  if (name == ":path") {
    call->method_ = self->registry_.find(value);
    if (call->method_ == nullptr) call->unknown_path_ = value;
  } else if (name == ":method") {
    call->method_post_ = value == "POST";
  } else if (name == "content-type") {
    call->content_type_ok_ = is_grpc_content_type(value);
  } else if (name.front() != ':' && !is_transport_header(name)) {
    call->metadata_.append(name).push_back('\0');
    call->metadata_.append(value).push_back('\0');
    self->recharge(*call);
  }
  return 0;
}

int grpc_server_session::on_frame_recv(nghttp2_session*, const nghttp2_frame* frame,
                                       void* user_data) {
  auto* self = static_cast<grpc_server_session*>(user_data);
  switch (frame->hd.type) {
    case NGHTTP2_SETTINGS:
      if ((frame->hd.flags & NGHTTP2_FLAG_ACK) == 0) self->preface_received_ = true;
      return 0;
    case NGHTTP2_PING:
      self->on_ping((frame->hd.flags & NGHTTP2_FLAG_ACK) != 0);
      return 0;
    case NGHTTP2_HEADERS:
    case NGHTTP2_DATA:
      break;
    default:
      return 0;
  }
  server_call* call = self->call_of(frame->hd.stream_id);
  if (call == nullptr) return 0;
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    call->headers_complete_ = true;
    self->route(*call);
  }
  if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) self->on_request_complete(*call);
  return 0;
}

int grpc_server_session::on_data_chunk_recv(nghttp2_session*, uint8_t, int32_t stream_id,
                                            const uint8_t* data, size_t length,
                                            void* user_data) {
  auto* self = static_cast<grpc_server_session*>(user_data);
  server_call* call = self->call_of(stream_id);
  if (call == nullptr || call->discard_input_ || call->finished_ || call->method_ == nullptr) {
    return 0;
  }
  const bool streaming = static_cast<bool>(call->method_->on_stream);
  bool extra_request = false;
  const auto outcome = call->deframer_.feed(as_view(data, length), [&](inbound_message&& message) {
    if (streaming) {
      self->events_.push_back({call_ref(call), event_kind::stream_message, std::move(message)});
    } else if (call->has_request_) {
      extra_request = true;
    } else {
      call->request_ = std::move(message);
      call->has_request_ = true;
      // A borrowed request must not outlive this feed(): if END_STREAM has not come with it, it is
      // copied before feed() returns (see keep_borrowed_requests).
      if (!call->request_.is_owned) self->borrowed_requests_.emplace_back(call);
    }
  });
  self->recharge(*call);
  if (outcome != message_deframer::outcome::ok) {
    self->on_deframe_failure(*call, outcome);
  } else if (self->held_bytes() > self->limits_.connection_memory_bytes_limit) {
    self->on_memory_exceeded(*call);
  } else if (extra_request) {
    call->discard_input_ = true;
    call->finish({status_code::internal, "grpc: received more than one request message for " +
                                             std::string(call->path())});
  }
  return 0;
}

int grpc_server_session::on_frame_send(nghttp2_session*, const nghttp2_frame* frame,
                                       void* user_data) {
  auto* self = static_cast<grpc_server_session*>(user_data);
  if (frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) self->reset_ping_strikes_ = true;
  if (frame->hd.type == NGHTTP2_GOAWAY) self->goaway_sent();
  const bool ends_stream = (frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
                           (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  // We answered before the client finished sending (an error, or a stream the server ended):
  // tell it to stop, as grpc-go does, so its remaining DATA is not sent for nothing.
  if (ends_stream && nghttp2_session_get_stream_remote_close(self->session_, frame->hd.stream_id) == 0) {
    nghttp2_submit_rst_stream(self->session_, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                              NGHTTP2_NO_ERROR);
  }
  return 0;
}

int grpc_server_session::on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t,
                                         void* user_data) {
  auto* self = static_cast<grpc_server_session*>(user_data);
  server_call* call = self->call_of(stream_id);
  if (call == nullptr) return 0;
  call->closed_ = true;
  if (!call->finished_) self->count_handled(*call, status_code::cancelled);
  self->queued_stream_bytes_ -= call->out_.pending();  // never to be sent
  self->unlink(*call);
  call_ref adopted(call);
  --call->refs_;  // the session's reference moves into `adopted`
  if (!call->finished_ && call->method_ != nullptr) {
    self->events_.push_back({std::move(adopted), event_kind::cancel, {}});
  }
  return 0;
}

// ---- routing and dispatch -----------------------------------------------------------------------

void grpc_server_session::reject_http(server_call& call, std::string_view http_status) {
  const std::array<nghttp2_nv, 1> fields = {header_field(":status", http_status, static_header)};
  nghttp2_submit_response(session_, call.stream_id_, fields.data(), fields.size(), nullptr);
  call.headers_sent_ = call.finished_ = call.discard_input_ = true;
  request_flush();
}

void grpc_server_session::route(server_call& call) {
  if (!call.method_post_) return reject_http(call, "405");
  if (!call.content_type_ok_) return reject_http(call, "415");
  if (call.method_ == nullptr) {
    const std::string_view service = service_registry::service_of(call.unknown_path_);
    call.discard_input_ = true;
    call.finish(registry_.has_service(service) || service.empty()
                    ? unknown_method_status(call.unknown_path_)
                    : unknown_service_status(service));
    return;
  }
  count_started(call);
  if (call.method_->on_stream) {
    stop_awaiting(call);  // a stream may stay open as long as the client likes (Watch)
    events_.push_back({call_ref(&call), event_kind::stream_open, {}});
  }
}

void grpc_server_session::on_memory_exceeded(server_call& call) {
  call.discard_input_ = true;
  call.deframer_.discard();
  call.request_ = {};
  recharge(call);
  call.finish({status_code::resource_exhausted,
               "grpc: the connection holds too many partly received requests (limit " +
                   std::to_string(limits_.connection_memory_bytes_limit) + " bytes)"});
  if (call.method_->on_stream) events_.push_back({call_ref(&call), event_kind::cancel, {}});
}

void grpc_server_session::on_deframe_failure(server_call& call,
                                             message_deframer::outcome outcome) {
  call.discard_input_ = true;
  call.deframer_.discard();
  recharge(call);
  const bool too_large = outcome == message_deframer::outcome::too_large;
  call.finish(too_large ? message_too_large_status(call.deframer_.declared_bytes(),
                                                   limits_.receive_message_bytes_max())
                        : status{status_code::unimplemented,
                                 "grpc: compressed messages are not supported"});
  // A streaming handler already runs: it learns the stream is over.
  if (call.method_->on_stream) events_.push_back({call_ref(&call), event_kind::cancel, {}});
}

void grpc_server_session::on_request_complete(server_call& call) {
  stop_awaiting(call);
  if (call.discard_input_ || call.finished_ || call.method_ == nullptr) return;
  if (call.deframer_.mid_message()) {
    call.discard_input_ = true;
    call.finish({status_code::internal, "grpc: the client ended the stream inside a message"});
    if (call.method_->on_stream) events_.push_back({call_ref(&call), event_kind::cancel, {}});
    return;
  }
  if (call.method_->on_stream) {
    events_.push_back({call_ref(&call), event_kind::half_close, {}});
  } else if (!call.has_request_) {
    call.discard_input_ = true;
    call.finish({status_code::internal, "grpc: the client sent no request message"});
  } else {
    events_.push_back({call_ref(&call), event_kind::request, {}});
  }
}

void grpc_server_session::dispatch_events() {
  // Handlers run here, after nghttp2 returned: they may write, finish, or drop their call freely.
  for (size_t i = 0; i < events_.size(); ++i) {
    pending_event event = std::move(events_[i]);
    server_call& call = *event.call;
    switch (event.kind) {
      case event_kind::request:
        if (call.alive()) call.method_->on_request(event.call, call.request_.bytes());
        call.request_ = {};  // (has_request_ stays: a second message is still an error)
        recharge(call);
        break;
      case event_kind::stream_open:
        if (call.alive()) call.method_->on_stream(event.call);
        break;
      case event_kind::stream_message:
        if (call.alive() && call.callbacks_.on_message) {
          call.callbacks_.on_message(event.message.bytes());
        }
        break;
      case event_kind::half_close:
        if (call.alive() && call.callbacks_.on_half_close) call.callbacks_.on_half_close();
        break;
      case event_kind::drained:
        if (call.alive() && call.on_drained_ && call.out_.pending() == 0) call.on_drained_();
        break;
      case event_kind::cancel:
        if (call.callbacks_.on_cancel) {
          auto on_cancel = std::move(call.callbacks_.on_cancel);
          on_cancel();
        }
        break;
    }
  }
  events_.clear();
}

// ---- responses ----------------------------------------------------------------------------------

void grpc_server_session::on_reserve(server_call& call, size_t bytes) {
  if (!call.headers_sent_) start_response(call);
  queued_stream_bytes_ += bytes;
}

void grpc_server_session::on_queued(server_call& call) { resume_stream_output(call.stream_id_, call.out_); }

void grpc_server_session::on_finish(server_call& call) {
  count_handled(call, call.trailer_status_.code);
  finish_call(call);
}

void grpc_server_session::count_started(server_call& call) {
  assert(call.method_ != nullptr && !call.counted_);
  call_observer* observer = registry_.observer();
  if (observer == nullptr) return;
  call.counted_ = true;
  observer->on_call_started(*call.method_);
}

void grpc_server_session::count_handled(server_call& call, status_code code) {
  if (!call.counted_) return;  // not started (unknown method, refused) or already handled
  call.counted_ = false;
  registry_.observer()->on_call_handled(*call.method_, code);
}

void grpc_server_session::start_response(server_call& call) {
  assert(!call.headers_sent_);
  const std::array<nghttp2_nv, 2> fields = {
      header_field(":status", "200", static_header),
      header_field("content-type", "application/grpc", static_header)};
  const nghttp2_data_provider provider = data_provider_for(&call.out_);
  nghttp2_submit_response(session_, call.stream_id_, fields.data(), fields.size(), &provider);
  call.headers_sent_ = true;
}

void grpc_server_session::finish_call(server_call& call) {
  if (!call.headers_sent_) {
    // Trailers-only response: one HEADERS frame with END_STREAM.
    std::string encoded;
    std::array<nghttp2_nv, 4> fields = {
        header_field(":status", "200", static_header),
        header_field("content-type", "application/grpc", static_header)};
    const size_t count = 2 + status_headers(call.trailer_status_, encoded, fields.data() + 2);
    nghttp2_submit_response(session_, call.stream_id_, fields.data(), count, nullptr);
    call.headers_sent_ = true;
    request_flush();
    return;
  }
  call.out_.end_after_data = true;
  resume_stream_output(call.stream_id_, call.out_);
}

void grpc_server_session::on_outbound_drained(outbound_bytes& out) {
  auto* call = static_cast<server_call*>(out.owner);
  events_.push_back({call_ref(call), event_kind::drained, {}});
}

void grpc_server_session::on_outbound_end(int32_t stream_id, uint32_t* data_flags) {
  server_call* call = call_of(stream_id);
  assert(call != nullptr);
  *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
  std::string encoded;
  std::array<nghttp2_nv, 2> fields;
  const size_t count = status_headers(call->trailer_status_, encoded, fields.data());
  nghttp2_submit_trailer(session_, stream_id, fields.data(), count);
}

}  // namespace ringkv::net::grpc
