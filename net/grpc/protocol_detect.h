// Which protocol a client-port connection speaks, judged from its first bytes: the HTTP/2 client
// preface ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", h2c with prior knowledge) or an HTTP/1.1 request line.
#pragma once

#include <cstdint>
#include <string_view>

namespace ringkv::net {

enum class wire_protocol : uint8_t { undecided, http2, http1, unknown };

inline constexpr std::string_view http2_client_preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// `undecided` means: read more bytes (never more than the preface's 24 are needed).
constexpr wire_protocol detect_protocol(std::string_view first_bytes) {
  const size_t compared = first_bytes.size() < http2_client_preface.size()
                              ? first_bytes.size()
                              : http2_client_preface.size();
  if (first_bytes.substr(0, compared) == http2_client_preface.substr(0, compared)) {
    return compared == http2_client_preface.size() ? wire_protocol::http2 : wire_protocol::undecided;
  }
  // An HTTP/1.x request starts with a method token (upper-case letters) and a space.
  for (size_t i = 0; i < first_bytes.size(); ++i) {
    const char c = first_bytes[i];
    if (c == ' ') return i > 0 ? wire_protocol::http1 : wire_protocol::unknown;
    if (c < 'A' || c > 'Z' || i >= 16) return wire_protocol::unknown;
  }
  return wire_protocol::undecided;
}

}  // namespace ringkv::net
