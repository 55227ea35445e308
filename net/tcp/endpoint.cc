// Endpoint parsing and formatting: see endpoint.h.
#include "net/tcp/endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cassert>
#include <charconv>
#include <cstring>

namespace ringkv::net {
namespace {

std::optional<uint16_t> parse_port(std::string_view text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value > 65535) return std::nullopt;
  return static_cast<uint16_t>(value);
}

}  // namespace

std::optional<endpoint> endpoint::parse(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto port = parse_port(text.substr(colon + 1));
  std::string_view host = text.substr(0, colon);
  if (!port) return std::nullopt;
  endpoint ep;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    std::string v6(host.substr(1, host.size() - 2));
    auto* a = reinterpret_cast<sockaddr_in6*>(&ep.storage_);
    if (inet_pton(AF_INET6, v6.c_str(), &a->sin6_addr) != 1) return std::nullopt;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(*port);
    ep.len_ = sizeof(sockaddr_in6);
    return ep;
  }
  std::string v4(host);
  auto* a = reinterpret_cast<sockaddr_in*>(&ep.storage_);
  if (inet_pton(AF_INET, v4.c_str(), &a->sin_addr) != 1) return std::nullopt;
  a->sin_family = AF_INET;
  a->sin_port = htons(*port);
  ep.len_ = sizeof(sockaddr_in);
  return ep;
}

endpoint endpoint::loopback_v4(uint16_t port) {
  endpoint ep;
  auto* a = reinterpret_cast<sockaddr_in*>(&ep.storage_);
  a->sin_family = AF_INET;
  a->sin_port = htons(port);
  a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ep.len_ = sizeof(sockaddr_in);
  return ep;
}

endpoint endpoint::from_sockaddr(const sockaddr* addr, socklen_t len) {
  assert(len <= sizeof(sockaddr_storage));
  endpoint ep;
  std::memcpy(&ep.storage_, addr, len);
  ep.len_ = len;
  return ep;
}

uint16_t endpoint::port() const {
  if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
}

std::string endpoint::to_string() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, text, sizeof text);
    return "[" + std::string(text) + "]:" + std::to_string(port());
  }
  inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, text, sizeof text);
  return std::string(text) + ":" + std::to_string(port());
}

}  // namespace ringkv::net
