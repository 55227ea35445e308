// server/raft_payload.cc — encoding of server/raft_payload.h.
#include "server/raft_payload.h"

#include <cstring>

namespace ringkv::server {

std::string encode_payload(proposal_kind kind, request_id_t request_id, std::string_view message) {
  std::string out;
  out.resize(payload_header_bytes + message.size());
  out[0] = char(kind);
  for (int i = 0; i < 8; ++i) out[size_t(1 + i)] = char(uint8_t(request_id >> (8 * i)));
  if (!message.empty()) std::memcpy(out.data() + payload_header_bytes, message.data(), message.size());
  return out;
}

std::optional<decoded_payload> decode_payload(std::string_view entry) {
  if (entry.size() < payload_header_bytes) return std::nullopt;
  uint8_t kind = uint8_t(entry[0]);
  if (kind == 0 || kind > proposal_kind_max) return std::nullopt;
  request_id_t id = 0;
  for (int i = 0; i < 8; ++i) id |= request_id_t(uint8_t(entry[size_t(1 + i)])) << (8 * i);
  return decoded_payload{proposal_kind(kind), id, entry.substr(payload_header_bytes)};
}

}  // namespace ringkv::server
