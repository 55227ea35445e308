// server/replica/raft_payload.cc — encoding of server/raft_payload.h.
#include "server/replica/raft_payload.h"

#include <cassert>

namespace ringkv::server {

void put_u64_le(std::string& out, uint64_t value) {
  for (int i = 0; i < 8; ++i) out += char(uint8_t(value >> (8 * i)));
}

uint64_t get_u64_le(std::string_view in, size_t at) {
  assert(at + 8 <= in.size());
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value |= uint64_t(uint8_t(in[at + size_t(i)])) << (8 * i);
  return value;
}

std::string encode_payload(proposal_kind kind, request_id_t request_id, std::string_view message) {
  std::string out;
  out.reserve(payload_header_bytes + message.size());
  out += char(kind);
  put_u64_le(out, request_id);
  out.append(message);
  return out;
}

std::string encode_lease_ask(const lease_ask& ask) {
  std::string out;
  out.reserve(lease_ask_bytes);
  out += char(ask.mode);
  put_u64_le(out, ask.asker);
  put_u64_le(out, ask.nonce);
  put_u64_le(out, uint64_t(ask.lease_id));
  return out;
}

std::optional<lease_ask> decode_lease_ask(std::string_view message) {
  if (message.size() != lease_ask_bytes) return std::nullopt;
  uint8_t mode = uint8_t(message[0]);
  if (mode == 0 || mode > lease_ask_mode_max) return std::nullopt;
  return lease_ask{lease_ask_mode(mode), get_u64_le(message, 1), get_u64_le(message, 9), int64_t(get_u64_le(message, 17))};
}

std::string encode_lease_answer(const lease_answer& answer) {
  std::string out;
  out.reserve(lease_answer_bytes);
  put_u64_le(out, answer.asker);
  put_u64_le(out, answer.nonce);
  put_u64_le(out, uint64_t(answer.ttl_s));
  return out;
}

std::optional<lease_answer> decode_lease_answer(std::string_view message) {
  if (message.size() != lease_answer_bytes) return std::nullopt;
  return lease_answer{get_u64_le(message, 0), get_u64_le(message, 8), int64_t(get_u64_le(message, 16))};
}

std::string encode_as_user(std::string_view user, uint64_t auth_revision, proposal_kind kind, std::string_view message) {
  std::string out;
  out.reserve(13 + user.size() + message.size());
  put_u64_le(out, auth_revision);
  for (int i = 0; i < 4; ++i) out += char(uint8_t(uint32_t(user.size()) >> (8 * i)));
  out.append(user);
  out += char(kind);
  out.append(message);
  return out;
}

std::optional<as_user_payload> decode_as_user(std::string_view message) {
  if (message.size() < 13) return std::nullopt;
  uint32_t user_bytes = 0;
  for (int i = 0; i < 4; ++i) user_bytes |= uint32_t(uint8_t(message[8 + size_t(i)])) << (8 * i);
  if (message.size() - 12 < size_t(user_bytes) + 1) return std::nullopt;
  uint8_t kind = uint8_t(message[12 + user_bytes]);
  if (kind == 0 || kind > proposal_kind_max || proposal_kind(kind) == proposal_kind::as_user) return std::nullopt;
  return as_user_payload{message.substr(12, user_bytes), get_u64_le(message, 0), proposal_kind(kind),
                         message.substr(13 + size_t(user_bytes))};
}

std::optional<decoded_payload> decode_payload(std::string_view entry) {
  if (entry.size() < payload_header_bytes) return std::nullopt;
  uint8_t kind = uint8_t(entry[0]);
  if (kind == 0 || kind > proposal_kind_max) return std::nullopt;
  return decoded_payload{proposal_kind(kind), get_u64_le(entry, 1), entry.substr(payload_header_bytes)};
}

}  // namespace ringkv::server
