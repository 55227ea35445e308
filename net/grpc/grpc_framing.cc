// gRPC message framing: prefix encoding and prefix validation for the deframer.
#include "net/grpc/grpc_framing.h"

namespace ringkv::net::grpc {

std::optional<std::chrono::nanoseconds> parse_grpc_timeout(std::string_view text) {
  constexpr size_t digits_max = 8;
  if (text.size() < 2 || text.size() > digits_max + 1) return std::nullopt;
  int64_t amount = 0;
  for (const char c : text.substr(0, text.size() - 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    amount = amount * 10 + (c - '0');
  }
  using namespace std::chrono;
  switch (text.back()) {
    case 'H': return hours(amount);
    case 'M': return minutes(amount);
    case 'S': return seconds(amount);
    case 'm': return milliseconds(amount);
    case 'u': return microseconds(amount);
    case 'n': return nanoseconds(amount);
    default: return std::nullopt;
  }
}

void append_message_prefix(std::string& out, size_t message_bytes) {
  assert(message_bytes <= UINT32_MAX);
  const auto length = static_cast<uint32_t>(message_bytes);
  const char prefix[message_prefix_bytes] = {
      0, static_cast<char>(length >> 24), static_cast<char>(length >> 16),
      static_cast<char>(length >> 8), static_cast<char>(length)};
  out.append(prefix, message_prefix_bytes);
}

message_deframer::outcome message_deframer::read_prefix(const char* p) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(p);
  declared_bytes_ = (size_t{bytes[1]} << 24) | (size_t{bytes[2]} << 16) | (size_t{bytes[3]} << 8) |
                    size_t{bytes[4]};
  if (bytes[0] != 0) return outcome::compressed;
  if (declared_bytes_ > max_message_bytes_) return outcome::too_large;
  return outcome::ok;
}

}  // namespace ringkv::net::grpc
