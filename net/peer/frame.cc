// Peer frame encoding and parsing (layout in frame.h).
#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include "net/peer/frame.h"

#include <xxhash.h>

#include <cassert>
#include <cstring>

namespace ringkv::net::peer {

namespace {

void put_u32(std::byte* at, uint32_t v) {
  for (int i = 0; i < 4; ++i) at[i] = static_cast<std::byte>(v >> (8 * i));
}
void put_u64(std::byte* at, uint64_t v) {
  for (int i = 0; i < 8; ++i) at[i] = static_cast<std::byte>(v >> (8 * i));
}
uint64_t get_le(const std::byte* at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t{std::to_integer<uint8_t>(at[i])} << (8 * i);
  return v;
}

}  // namespace

uint64_t body_checksum(std::span<const std::byte> header, std::span<const uint8_t> message) {
  XXH3_state_t state;
  XXH3_INITSTATE(&state);
  XXH3_64bits_reset(&state);
  XXH3_64bits_update(&state, header.data(), header.size());
  if (!message.empty()) XXH3_64bits_update(&state, message.data(), message.size());
  return XXH3_64bits_digest(&state);
}

encoded_frame make_frame(const frame_header& header, raft::SharedBytes message) {
  assert(message.size() <= frame_message_bytes_max);
  encoded_frame frame;
  std::byte* lead = frame.lead.data();
  put_u64(lead + 12, header.cluster_id);
  put_u64(lead + 20, header.from);
  put_u64(lead + 28, header.to);
  const auto header_bytes = std::span<const std::byte>(lead + frame_prefix_bytes, frame_header_bytes);
  put_u32(lead, static_cast<uint32_t>(frame_header_bytes + message.size()));
  put_u64(lead + 4, body_checksum(header_bytes, message.span()));
  frame.message = std::move(message);
  return frame;
}

frame_prefix parse_prefix(std::span<const std::byte, frame_prefix_bytes> bytes) {
  return {static_cast<uint32_t>(get_le(bytes.data(), 4)), get_le(bytes.data() + 4, 8)};
}

frame_header parse_header(std::span<const std::byte, frame_header_bytes> bytes) {
  return {get_le(bytes.data(), 8), get_le(bytes.data() + 8, 8), get_le(bytes.data() + 16, 8)};
}

std::string check_prefix(const frame_prefix& prefix) {
  if (prefix.body_bytes < frame_header_bytes) return "frame body shorter than its header";
  if (prefix.body_bytes > frame_body_bytes_max) return "frame body larger than frame_body_bytes_max";
  return {};
}

}  // namespace ringkv::net::peer
