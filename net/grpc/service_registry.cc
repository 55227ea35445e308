// Method table lookups for the gRPC server session.
#include "net/grpc/service_registry.h"

#include <cassert>

namespace ringkv::net::grpc {

std::string_view service_registry::service_of(std::string_view path) {
  if (path.size() < 2 || path.front() != '/') return {};
  const size_t slash = path.find('/', 1);
  if (slash == std::string_view::npos) return {};
  return path.substr(1, slash - 1);
}

std::string_view call_type_name(call_type type) {
  switch (type) {
    case call_type::unary: return "unary";
    case call_type::server_stream: return "server_stream";
    case call_type::client_stream: return "client_stream";
    case call_type::bidi_stream: return "bidi_stream";
  }
  return "unary";
}

void service_registry::add_request_method(std::string path, request_handler handler, call_type type) {
  assert(handler);
  assert((type == call_type::unary || type == call_type::server_stream) && "one request: unary or server stream");
  add(method_entry{std::move(path), type, 0, std::move(handler), {}});
}

void service_registry::add_stream_method(std::string path, stream_handler handler, call_type type) {
  assert(handler);
  assert((type == call_type::client_stream || type == call_type::bidi_stream) && "client or bidi stream");
  add(method_entry{std::move(path), type, 0, {}, std::move(handler)});
}

void service_registry::add(method_entry entry) {
  const std::string_view service = service_of(entry.path);
  assert(!service.empty() && "method paths look like /package.Service/Method");
  services_.emplace(service);
  entry.id = static_cast<uint32_t>(order_.size());
  std::string key = entry.path;
  const auto [where, inserted] = methods_.emplace(std::move(key), std::move(entry));
  assert(inserted && "method registered twice");
  if (inserted) order_.push_back(&where->second);  // unordered_map nodes never move
}

const method_entry* service_registry::find(std::string_view path) const {
  const auto found = methods_.find(path);
  return found == methods_.end() ? nullptr : &found->second;
}

bool service_registry::has_service(std::string_view service) const {
  return services_.find(service) != services_.end();
}

}  // namespace ringkv::net::grpc
