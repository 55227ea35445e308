// A TCP endpoint: an IPv4 or IPv6 address with a port, parsed from text ("127.0.0.1:2379",
// "[::1]:2380") and handed to the socket calls as a sockaddr. Names are not resolved here.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringkv::net {

class endpoint {
 public:
  // Parses "a.b.c.d:port" or "[v6]:port"; nullopt if the text is not exactly that.
  static std::optional<endpoint> parse(std::string_view text);
  static endpoint loopback_v4(uint16_t port);
  static endpoint from_sockaddr(const sockaddr* addr, socklen_t len);

  const sockaddr* addr() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t addr_len() const { return len_; }
  int family() const { return storage_.ss_family; }
  uint16_t port() const;
  std::string to_string() const;

 private:
  sockaddr_storage storage_{};
  socklen_t len_ = 0;
};

}  // namespace ringkv::net
