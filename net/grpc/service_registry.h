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
#pragma once

#include "net/grpc/server_call.h"

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace ringkv::net::grpc {

using request_handler = std::function<void(const call_ref& call, std::string_view request)>;
using stream_handler = std::function<void(const call_ref& call)>;

struct method_entry {
  std::string path;  // "/package.Service/Method"
  request_handler on_request;  // set for unary and server-streaming methods
  stream_handler on_stream;    // set for client- and bidi-streaming methods
};

class service_registry {
 public:
  // Registers a unary or server-streaming method. `path` is "/package.Service/Method".
  void add_request_method(std::string path, request_handler handler);
  // Registers a client- or bidi-streaming method.
  void add_stream_method(std::string path, stream_handler handler);

  const method_entry* find(std::string_view path) const;
  // Calls fn(const method_entry&) for every method (in no particular order). Entries stay where they
  // are for the registry's life.
  template <typename F>
  void for_each_method(F&& fn) const {
    for (const auto& [path, entry] : methods_) fn(entry);
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
};

}  // namespace ringkv::net::grpc
