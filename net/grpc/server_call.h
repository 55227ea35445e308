// One gRPC call on the server side (one HTTP/2 stream). Shared by the session and the handler through
// call_ref (an intrusive reference count, single-threaded: a call lives on one shard).
// The handler may answer at any later time; if the client or the connection went away meanwhile,
// write()/finish() return false and do nothing.
//
// Where the responses go is a call_output: the grpc_server_session of the connection (same shard), a
// relay (net/grpc/call_relay.h) that carries them to the connection's session on another shard, or a
// local_call (net/grpc/local_call.h) whose in-process caller takes them.
//
//   client                      session                          handler (server layer)
//     HEADERS :path ----------> route by path
//     DATA [5B prefix|msg] ---> deframe (zero copy)
//     END_STREAM -------------> request_handler(call, request) -> call->respond(reply)  (now or later)
//     <--- HEADERS 200, DATA [prefix|reply], trailers grpc-status: 0
#pragma once

#include "net/grpc/grpc_framing.h"
#include "net/grpc/grpc_status.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace ringkv::net::grpc {

class grpc_server_session;
class server_call;
class call_relay_access;
class local_call;
struct method_entry;

// A key unique in the process for each client connection (and each in-process local_call): calls
// with the same server_call::connection_key() share one connection.
inline uint64_t new_connection_key() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

// The output side of a server_call. Every method runs on the call's shard, after the call changed.
// The metadata name under which a call carries its connection's verified client certificate CN. A
// client cannot send it: request header names starting with ':' never enter the metadata, so it is
// the transport's word; relayed calls carry it to shard 0 with the rest of the metadata.
inline constexpr std::string_view client_cert_cn_key = ":tls-client-cn";

class call_output {
 public:
  // `bytes` (a length-prefixed message) are about to be appended to the call's queue.
  virtual void on_reserve(server_call& call, size_t bytes) = 0;
  // Bytes were appended to the call's queue.
  virtual void on_queued(server_call& call) = 0;
  // The call finished (finished() is true, the status is set): send the trailers after the queue.
  virtual void on_finish(server_call& call) = 0;

 protected:
  ~call_output() = default;
};

class server_call {
 public:
  // Callbacks for client- and bidi-streaming methods; run outside nghttp2, on the connection's shard.
  struct stream_callbacks {
    std::function<void(std::string_view message)> on_message;  // bytes valid during the call only
    std::function<void()> on_half_close;  // the client will send no more messages
    std::function<void()> on_cancel;      // reset by the client or connection gone: stop writing
  };

  server_call(const server_call&) = delete;
  server_call& operator=(const server_call&) = delete;

  // "/package.Service/Method".
  std::string_view path() const;
  // A request header (metadata) by lower-case name, e.g. "token" or "grpc-timeout"; empty if absent.
  std::string_view metadata(std::string_view name) const;
  // The subject CN of the connection's verified TLS client certificate; empty without one.
  std::string_view client_cert_cn() const { return metadata(client_cert_cn_key); }
  // The client's deadline (grpc-timeout), counted from when the request headers arrived.
  std::optional<std::chrono::nanoseconds> timeout() const {
    return parse_grpc_timeout(metadata("grpc-timeout"));
  }

  void set_stream_callbacks(stream_callbacks callbacks) { callbacks_ = std::move(callbacks); }
  // For request (unary) methods too: learn that the client gave up before the reply.
  void set_cancel_callback(std::function<void()> on_cancel) {
    callbacks_.on_cancel = std::move(on_cancel);
  }

  // Queues one response message (length-prefixed). False if the call is finished or gone.
  bool write(std::string_view message);
  // Serializes a protobuf message (anything with ByteSizeLong/SerializeWithCachedSizesToArray)
  // straight into the stream's output queue.
  template <typename Message>
  bool write_message(const Message& message);
  // One response message sent in pieces (a reply too large to build whole): begin_message announces
  // its body size, then write_message_bytes() appends pieces that add up to exactly that many bytes.
  // No other write may come in between. False if the call is finished or gone.
  bool begin_message(size_t body_bytes);
  bool write_message_bytes(std::string_view piece);
  size_t message_bytes_left() const { return partial_message_left_; }
  // Ends the call with `result` in the trailers (or a trailers-only response if nothing was written).
  bool finish(const status& result);
  // Unary reply: write(message) then finish(ok).
  bool respond(std::string_view message) { return write(message) && finish(status::success()); }
  template <typename Message>
  bool respond_message(const Message& message) {
    return write_message(message) && finish(status::success());
  }

  bool alive() const { return output_ != nullptr && !finished_ && !closed_; }
  bool finished() const { return finished_; }
  // Response bytes not yet taken by HTTP/2 (flow control or a slow reader): watchers use this to
  // bound what they buffer. For a relayed call: also what went to the connection's shard and was not
  // reported drained there yet.
  size_t queued_output_bytes() const { return out_.pending() + relayed_backlog_bytes_; }
  // Runs (outside nghttp2) each time the queued output drops to zero after writes: a streaming
  // handler that paused because queued_output_bytes() passed its limit continues from here.
  void set_drain_callback(std::function<void()> on_drained) {
    on_drained_ = std::move(on_drained);
    out_.drain_watched = static_cast<bool>(on_drained_);
  }
  // The client connection the call came on (new_connection_key(); a relayed call has its connection's
  // key): streaming handlers bound what they queue per connection with it.
  uint64_t connection_key() const { return connection_key_; }

 private:
  friend class grpc_server_session;
  friend class call_ref;
  friend class call_relay_access;
  friend class local_call;

  server_call(call_output* output, int32_t stream_id, size_t max_message_bytes)
      : output_(output), stream_id_(stream_id), deframer_(max_message_bytes) {
    out_.owner = this;
  }

  // Reserves room for a length-prefixed message of `bytes` and returns where the body goes.
  uint8_t* reserve_message(size_t bytes);
  bool queue_output();  // after bytes were appended to out_

  call_output* output_;  // null once the session (or relay) is gone
  int32_t stream_id_;
  uint32_t refs_ = 0;
  const method_entry* method_ = nullptr;  // null until routed (or unknown)
  std::string unknown_path_;              // :path when no method matched
  std::string metadata_;                  // "name\0value\0" pairs
  size_t header_bytes_ = 0;               // HPACK-decoded size so far (name + value + 32 each)
  bool content_type_ok_ = false;
  bool method_post_ = false;
  bool headers_sent_ = false;
  bool finished_ = false;
  bool closed_ = false;         // nghttp2 closed the stream
  bool discard_input_ = false;  // an error was answered: ignore the rest of the request
  bool has_request_ = false;
  bool counted_ = false;        // started was told to the registry's observer; handled not yet
  message_deframer deframer_;
  inbound_message request_;  // unary: the request, until the handler has run
  outbound_bytes out_;
  status trailer_status_;
  stream_callbacks callbacks_;
  std::function<void()> on_drained_;
  size_t partial_message_left_ = 0;  // body bytes begin_message announced and not written yet
  size_t relayed_backlog_bytes_ = 0;  // relayed calls: sent to the connection's shard, not drained yet
  uint64_t connection_key_ = 0;
  server_call* live_prev_ = nullptr;  // the session's list of open calls
  server_call* live_next_ = nullptr;
  // Unary calls whose request has not ended yet (the session's awaiting list, oldest first).
  bool awaiting_request_end_ = false;
  bool headers_complete_ = false;  // the request's header block ended
  std::chrono::steady_clock::time_point request_deadline_{};
  server_call* awaiting_prev_ = nullptr;
  server_call* awaiting_next_ = nullptr;
  size_t memory_charge_ = 0;  // what this call counts in its session's held_bytes()
};

// Intrusive reference to a server_call.
class call_ref {
 public:
  call_ref() = default;
  explicit call_ref(server_call* call) : call_(call) { retain(); }
  call_ref(const call_ref& other) : call_(other.call_) { retain(); }
  call_ref(call_ref&& other) noexcept : call_(other.call_) { other.call_ = nullptr; }
  call_ref& operator=(call_ref other) noexcept {
    std::swap(call_, other.call_);
    return *this;
  }
  ~call_ref() { release(); }

  server_call* operator->() const { return call_; }
  server_call& operator*() const { return *call_; }
  server_call* get() const { return call_; }
  explicit operator bool() const { return call_ != nullptr; }

 private:
  void retain() {
    if (call_ != nullptr) ++call_->refs_;
  }
  void release() {
    if (call_ != nullptr && --call_->refs_ == 0) delete call_;
  }
  server_call* call_ = nullptr;
};

template <typename Message>
bool server_call::write_message(const Message& message) {
  if (!alive()) return false;
  const size_t bytes = message.ByteSizeLong();
  uint8_t* body = reserve_message(bytes);
  message.SerializeWithCachedSizesToArray(body);
  return queue_output();
}

}  // namespace ringkv::net::grpc
