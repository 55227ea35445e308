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

void service_registry::add_request_method(std::string path, request_handler handler) {
  assert(handler);
  add(method_entry{std::move(path), std::move(handler), {}});
}

void service_registry::add_stream_method(std::string path, stream_handler handler) {
  assert(handler);
  add(method_entry{std::move(path), {}, std::move(handler)});
}

void service_registry::add(method_entry entry) {
  const std::string_view service = service_of(entry.path);
  assert(!service.empty() && "method paths look like /package.Service/Method");
  services_.emplace(service);
  std::string key = entry.path;
  const bool inserted = methods_.emplace(std::move(key), std::move(entry)).second;
  assert(inserted && "method registered twice");
  (void)inserted;
}

const method_entry* service_registry::find(std::string_view path) const {
  const auto found = methods_.find(path);
  return found == methods_.end() ? nullptr : &found->second;
}

bool service_registry::has_service(std::string_view service) const {
  return services_.find(service) != services_.end();
}

}  // namespace ringkv::net::grpc
