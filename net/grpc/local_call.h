// net/grpc/local_call.h — a gRPC call opened from inside the process, without HTTP/2: the JSON
// gateway's streaming routes (/v3/watch, /v3/lease/keepalive, /v3/maintenance/snapshot) open their
// call here instead of dialing the server's own port. The call runs on a service_registry of this
// shard — the home registry, or on other shards the relay registry (net/grpc/call_relay.h), so a
// relayed call works unchanged. local_call is the call's call_output, as a grpc_server_session (or a
// call_relay home end) is for other calls:
//
//   caller (this shard)                  local_call                        handler (or a relay end)
//   local_call(registry, path) ------->  route by path; unknown: finished with grpc-go's status
//                                        stream method: on_stream(call) runs now
//   send(message) -------------------->  stream: on_message(message); request method: kept
//   half_close() --------------------->  stream: on_half_close(); request method: on_request(call, req)
//   co_await wait(); front(), pop() <--  call->write(m): m stays in the call's output queue until pop()
//                                        pop() empties the queue: the call's drain callback runs
//   ended(), result() <----------------  call->finish(status)
//   cancel() or ~local_call ---------->  on_cancel() (if not finished); the call refuses output
//
// Backpressure: response bytes the caller has not popped are the call's queued output, so
// server_call::queued_output_bytes() counts them (for a relayed call: on the home shard, through the
// relay's backlog) and a handler that paused on its limit continues from its drain callback once the
// caller popped everything — a slow HTTP client stops a watcher exactly as a slow gRPC client does.
//
// Lifetime and threading: a local_call lives on one shard, the registry's, and does not move (the
// call points at it). Handlers run synchronously inside the constructor (stream methods), send(),
// half_close(), cancel() and pop() (the drain callback), as grpc_server_session runs them after
// feed(). The call itself is reference-counted: a handler may keep its call_ref after the local_call
// is gone. Destroying a local_call whose call has not finished cancels it (on_cancel runs); in every
// case the call is detached, so later write()/finish() return false. A view from front() is valid
// until the next call on this object or the caller's next co_await (handlers may append meanwhile).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/grpc/server_call.h"
#include "net/grpc/service_registry.h"
#include "runtime/notifier.h"

namespace ringkv::net::grpc {

class local_call final : private call_output {
 public:
  // Request metadata, as server_call::metadata() returns it: lower-case names ("token").
  using metadata_list = std::vector<std::pair<std::string, std::string>>;

  // Opens `path` ("/package.Service/Method") on `registry`, which must outlive this object.
  local_call(const service_registry& registry, std::string_view path, const metadata_list& metadata = {});
  ~local_call();
  local_call(const local_call&) = delete;
  local_call& operator=(const local_call&) = delete;

  // --- request side ---
  // One request message (serialized protobuf). A request (unary or server-streaming) method takes
  // exactly one: a second ends the call with grpc-go's INTERNAL status. False once the call is over or
  // half-closed.
  bool send(std::string_view message);
  // The caller sends no more: a request method's handler runs now (INTERNAL if no message was sent).
  bool half_close();
  // The caller gives up: the handler's on_cancel runs unless the call already finished; queued
  // responses are dropped and result() is CANCELLED. Idempotent.
  void cancel();

  // --- response side (messages in order, then the status) ---
  // The oldest response message not yet popped (without the gRPC prefix), or nullopt.
  std::optional<std::string_view> front() const;
  // Drops front(); when the queue becomes empty the call's drain callback runs.
  void pop();
  // Response bytes (with their 5-byte prefixes) not popped yet: what queued_output_bytes() counts.
  size_t queued_bytes() const { return call_->out_.pending(); }
  // The status arrived (or the caller cancelled) and every message before it was popped.
  bool ended() const { return (call_->finished() || cancelled_) && queued_bytes() == 0; }
  // The call's status; meaningful once ended().
  const status& result() const { return cancelled_ ? cancelled_status_ : call_->trailer_status_; }
  // Resumes when a message or the status arrived since the last wait (at once if one did).
  runtime::notifier::awaiter wait() { return ready_.operator co_await(); }

 private:
  // call_output: the handler (or relay end) wrote or finished.
  void on_reserve(server_call& call, size_t bytes) override;
  void on_queued(server_call& call) override;
  void on_finish(server_call& call) override;
  void run_request_handler();

  call_ref call_;
  bool half_closed_ = false;
  bool cancelled_ = false;
  status cancelled_status_;
  std::string request_;  // request methods: the message, until half_close()
  runtime::notifier ready_;
};

}  // namespace ringkv::net::grpc
