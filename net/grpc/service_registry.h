// Method path -> handler table for the gRPC server session. The server layer fills one registry at
// startup ("/etcdserverpb.KV/Range" -> handler, ...) and every connection's session reads it.
//
// Two handler shapes:
//   request_handler  unary and server-streaming methods: called once the single request message and
//                    the client's END_STREAM have arrived; the request bytes are valid only during
//                    the call (parse them right away). Answer with call->respond(...) (unary) or
//                    call->write(...)... call->finish(status) (server streaming), now or later.
//   stream_handler   client- and bidi-streaming methods (Watch, LeaseKeepAlive): called when the
//                    stream opens; install callbacks with call->set_stream_callbacks(...) before
//                    returning, then write and finish whenever you like.
// Each method also declares its gRPC type (unary, server_stream, client_stream, bidi_stream), the
// grpc_type label of go-grpc-prometheus' metrics.
//
// Metrics: a call_observer set on the registry is told when a session starts a call on a registered
// method and when that call is handled (its status), exactly once each, on the shard of the client's
// connection. A call relayed to another shard (net/grpc/call_relay.h) is seen there only, never again
// where its handler runs. Calls on unknown methods are not seen (grpc-go answers them before its
// interceptors, so etcd never counts them either).
#pragma once

#include "net/grpc/grpc_status.h"
#include "net/grpc/server_call.h"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace ringkv::net::grpc {

using request_handler = std::function<void(const call_ref& call, std::string_view request)>;
using stream_handler = std::function<void(const call_ref& call)>;

enum class call_type : uint8_t { unary, server_stream, client_stream, bidi_stream };
// go-grpc-prometheus' grpc_type label: "unary", "server_stream", "client_stream", "bidi_stream".
std::string_view call_type_name(call_type type);

struct method_entry {
  std::string path;  // "/package.Service/Method"
  call_type type = call_type::unary;  // unary/server_stream: on_request is set; else on_stream
  uint32_t id = 0;   // registration order, 0..method_count()-1; a relay registry keeps the home's ids
  request_handler on_request;  // set for unary and server-streaming methods
  stream_handler on_stream;    // set for client- and bidi-streaming methods
};

// Told about every call on a registered method (see the top of this file). Runs on any shard, often
// on several at once: implementations must be thread-safe (and cheap: it is on every call's path).
class call_observer {
 public:
  virtual void on_call_started(const method_entry& method) = 0;
  // Once per started call: its final status, or cancelled if it ended without one.
  virtual void on_call_handled(const method_entry& method, status_code code) = 0;

 protected:
  ~call_observer() = default;
};

class service_registry {
 public:
  // Registers a unary or server-streaming method. `path` is "/package.Service/Method".
  void add_request_method(std::string path, request_handler handler, call_type type = call_type::unary);
  // Registers a client- or bidi-streaming method.
  void add_stream_method(std::string path, stream_handler handler, call_type type = call_type::bidi_stream);

  // Set before any session uses the registry (and before relay registries copy it); outlives them.
  void set_observer(call_observer* observer) { observer_ = observer; }
  call_observer* observer() const { return observer_; }
  size_t method_count() const { return order_.size(); }

  const method_entry* find(std::string_view path) const;
  // Calls fn(const method_entry&) for every method, in registration order (id 0, 1, ...). Entries
  // stay where they are for the registry's life.
  template <typename F>
  void for_each_method(F&& fn) const {
    for (const method_entry* entry : order_) fn(*entry);
  }
  bool has_service(std::string_view service) const;  // "package.Service"
  // "/package.Service/Method" -> "package.Service"; empty when the path is malformed.
  static std::string_view service_of(std::string_view path);

 private:
  struct string_hash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
  };
  void add(method_entry entry);

  std::unordered_map<std::string, method_entry, string_hash, std::equal_to<>> methods_;
  std::unordered_set<std::string, string_hash, std::equal_to<>> services_;
  std::vector<const method_entry*> order_;  // order_[id] is the method with that id
  call_observer* observer_ = nullptr;
};

}  // namespace ringkv::net::grpc
