// client/endpoint.h - one etcd endpoint as the client dials it: an IP address (names are not resolved)
// and a port. Parsing URLs ("http://127.0.0.1:2379") is the caller's (ringkv-bench: options.cc).
#pragma once

#include <cstdint>
#include <string>

namespace ringkv::client {

struct endpoint {
  std::string host;
  uint16_t port = 0;

  std::string text() const { return host + ":" + std::to_string(port); }
};

}  // namespace ringkv::client
