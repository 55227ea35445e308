// net/grpc/local_call.cc — see local_call.h.
#include "net/grpc/local_call.h"

#include <cassert>
#include <cstdint>

namespace ringkv::net::grpc {

namespace {

// The body size in a gRPC message prefix (flag byte, then u32 big-endian).
size_t prefixed_body_bytes(std::string_view framed) {
  assert(framed.size() >= message_prefix_bytes);
  const auto byte = [&](size_t i) { return uint32_t(uint8_t(framed[i])); };
  return size_t(byte(1) << 24 | byte(2) << 16 | byte(3) << 8 | byte(4));
}

}  // namespace

local_call::local_call(const service_registry& registry, std::string_view path,
                       const metadata_list& metadata)
    : call_(new server_call(this, 0, 0)) {
  server_call& call = *call_;
  call.headers_sent_ = true;  // nothing to send: there are no HTTP/2 headers here
  call.connection_key_ = new_connection_key();
  for (const auto& [name, value] : metadata) {
    call.metadata_.append(name).push_back('\0');
    call.metadata_.append(value).push_back('\0');
  }
  call.method_ = registry.find(path);
  if (call.method_ == nullptr) {
    // As grpc_server_session::route answers an unknown :path.
    call.unknown_path_ = path;
    const std::string_view service = service_registry::service_of(path);
    call.discard_input_ = true;
    call.finish(registry.has_service(service) || service.empty() ? unknown_method_status(path)
                                                                 : unknown_service_status(service));
    return;
  }
  if (call.method_->on_stream) call.method_->on_stream(call_);
}

local_call::~local_call() {
  cancel();
  call_->output_ = nullptr;  // the handler's call_ref (if it keeps one) refuses output from now on
}

bool local_call::send(std::string_view message) {
  server_call& call = *call_;
  if (half_closed_ || !call.alive() || call.discard_input_) return false;
  if (call.method_->on_stream) {
    if (call.callbacks_.on_message) call.callbacks_.on_message(message);
    return true;
  }
  if (call.has_request_) {
    call.discard_input_ = true;
    call.finish({status_code::internal,
                 "grpc: received more than one request message for " + std::string(call.path())});
    return false;
  }
  call.has_request_ = true;
  request_.assign(message);
  return true;
}

bool local_call::half_close() {
  server_call& call = *call_;
  if (half_closed_ || !call.alive()) return false;
  half_closed_ = true;
  if (call.discard_input_) return true;
  if (call.method_->on_stream) {
    if (call.callbacks_.on_half_close) call.callbacks_.on_half_close();
  } else {
    run_request_handler();
  }
  return true;
}

void local_call::run_request_handler() {
  server_call& call = *call_;
  if (!call.has_request_) {
    call.discard_input_ = true;
    call.finish({status_code::internal, "grpc: the client sent no request message"});
    return;
  }
  const std::string request = std::move(request_);
  request_.clear();
  call.method_->on_request(call_, request);
}

void local_call::cancel() {
  server_call& call = *call_;
  if (cancelled_ || call.closed_) return;
  const bool was_finished = call.finished_;
  // As grpc_server_session does when the client resets a stream: closed first (output refused), the
  // queued bytes are dropped, then the handler hears of it.
  call.closed_ = true;
  call.out_.bytes.clear();
  call.out_.sent = 0;
  if (!was_finished) {
    cancelled_ = true;
    cancelled_status_ = {status_code::cancelled, "context canceled"};
    if (call.method_ != nullptr && call.callbacks_.on_cancel) {
      auto on_cancel = std::move(call.callbacks_.on_cancel);
      on_cancel();
    }
  }
  ready_.notify();
}

std::optional<std::string_view> local_call::front() const {
  const outbound_bytes& out = call_->out_;
  if (out.pending() == 0) return std::nullopt;
  const std::string_view framed = out.next(out.pending());
  const size_t body_bytes = prefixed_body_bytes(framed);
  assert(framed.size() >= message_prefix_bytes + body_bytes && "whole messages only");
  return framed.substr(message_prefix_bytes, body_bytes);
}

void local_call::pop() {
  server_call& call = *call_;
  outbound_bytes& out = call.out_;
  if (out.pending() == 0) return;
  out.consume(message_prefix_bytes + prefixed_body_bytes(out.next(out.pending())));
  // As the session reports a stream whose queue HTTP/2 took entirely (on_outbound_drained).
  if (out.pending() == 0 && call.alive() && call.on_drained_) call.on_drained_();
}

void local_call::on_reserve(server_call&, size_t) {}

void local_call::on_queued(server_call&) { ready_.notify(); }

void local_call::on_finish(server_call&) { ready_.notify(); }

}  // namespace ringkv::net::grpc
