// Record codec implementation: framing and the xxh3 checksum chain (see format.h).
#include "storage/wal/record.h"

#include <cassert>
#include <xxhash.h>

namespace ringkv::storage::wal {
namespace {

// Fills the 16-byte header of a record whose body is already at out + 16; returns its checksum.
uint64_t seal(std::byte* out, record_type type, size_t body_bytes, uint64_t seed) {
  assert(body_bytes <= UINT32_MAX);
  put_u32(out + 8, static_cast<uint32_t>(body_bytes));
  out[12] = static_cast<std::byte>(type);
  out[13] = out[14] = out[15] = std::byte{0};
  const uint64_t checksum = XXH3_64bits_withSeed(out + 8, 8 + body_bytes, seed);
  put_u64(out, checksum);
  return checksum;
}

}  // namespace

uint64_t encode_entry(std::byte* out, const entry_view& e, uint64_t seed) {
  std::byte* body = out + record_header_bytes;
  put_u64(body, e.index);
  put_u64(body + 8, e.term);
  put_u32(body + 16, e.kind);
  if (!e.payload.empty()) std::memcpy(body + entry_body_fixed_bytes, e.payload.data(), e.payload.size());
  return seal(out, record_type::entry, entry_body_fixed_bytes + e.payload.size(), seed);
}

uint64_t encode_hard_state(std::byte* out, const hard_state& hs, uint64_t seed) {
  std::byte* body = out + record_header_bytes;
  put_u64(body, hs.term);
  put_u64(body + 8, hs.vote);
  put_u64(body + 16, hs.commit);
  return seal(out, record_type::hard_state, hard_state_body_bytes, seed);
}

uint64_t encode_snapshot_marker(std::byte* out, const snapshot_marker& m, uint64_t seed) {
  std::byte* body = out + record_header_bytes;
  put_u64(body, m.index);
  put_u64(body + 8, m.term);
  return seal(out, record_type::snapshot_marker, snapshot_marker_body_bytes, seed);
}

uint64_t encode_segment_header(std::byte* out, const segment_header_body& h) {
  std::byte* body = out + record_header_bytes;
  put_u32(body, h.version);
  put_u32(body + 4, h.block_bytes_);
  put_u64(body + 8, h.segment_seq);
  put_u64(body + 16, h.first_index);
  put_u64(body + 24, h.segment_bytes);
  put_u64(body + 32, h.write_bytes_limit);
  put_u64(body + 40, h.prev_segment_chain);
  return seal(out, record_type::segment_header, segment_header_body_bytes, segment_seed(h.segment_seq));
}

read_status read_record(std::span<const std::byte> data, size_t offset, uint64_t seed, record_view& out,
                        std::string& why) {
  assert(offset <= data.size());
  if (data.size() - offset < record_header_bytes) return read_status::end;
  const std::byte* at = data.data() + offset;
  bool all_zero = true;
  for (size_t i = 0; i < record_header_bytes; ++i) all_zero = all_zero && at[i] == std::byte{0};
  if (all_zero) return read_status::end;

  const uint64_t stored = get_u64(at);
  const uint32_t body_bytes = get_u32(at + 8);
  const auto type = static_cast<uint8_t>(at[12]);
  if (type == 0 || type > record_type_max || at[13] != std::byte{0} || at[14] != std::byte{0} ||
      at[15] != std::byte{0}) {
    why = "invalid record type or header padding";
    return read_status::bad;
  }
  if (body_bytes > data.size() - offset - record_header_bytes) {
    why = "record length runs past the end of the data";
    return read_status::bad;
  }
  if (XXH3_64bits_withSeed(at + 8, 8 + size_t{body_bytes}, seed) != stored) {
    why = "checksum mismatch";
    return read_status::bad;
  }
  out.type = static_cast<record_type>(type);
  out.body = data.subspan(offset + record_header_bytes, body_bytes);
  out.checksum = stored;
  out.total_bytes = record_header_bytes + body_bytes;
  return read_status::ok;
}

std::optional<segment_header_body> decode_segment_header(std::span<const std::byte> body) {
  if (body.size() != segment_header_body_bytes) return std::nullopt;
  const std::byte* b = body.data();
  segment_header_body h;
  h.version = get_u32(b);
  h.block_bytes_ = get_u32(b + 4);
  h.segment_seq = get_u64(b + 8);
  h.first_index = get_u64(b + 16);
  h.segment_bytes = get_u64(b + 24);
  h.write_bytes_limit = get_u64(b + 32);
  h.prev_segment_chain = get_u64(b + 40);
  if (h.version != format_version || h.block_bytes_ != block_bytes || h.segment_bytes % block_bytes != 0 ||
      h.write_bytes_limit % block_bytes != 0 || h.write_bytes_limit == 0) {
    return std::nullopt;
  }
  return h;
}

std::optional<hard_state> decode_hard_state(std::span<const std::byte> body) {
  if (body.size() != hard_state_body_bytes) return std::nullopt;
  return hard_state{get_u64(body.data()), get_u64(body.data() + 8), get_u64(body.data() + 16)};
}

std::optional<snapshot_marker> decode_snapshot_marker(std::span<const std::byte> body) {
  if (body.size() != snapshot_marker_body_bytes) return std::nullopt;
  return snapshot_marker{get_u64(body.data()), get_u64(body.data() + 8)};
}

std::optional<entry> decode_entry(std::span<const std::byte> body) {
  if (body.size() < entry_body_fixed_bytes) return std::nullopt;
  entry e;
  e.index = get_u64(body.data());
  e.term = get_u64(body.data() + 8);
  e.kind = get_u32(body.data() + 16);
  e.payload.assign(reinterpret_cast<const char*>(body.data()) + entry_body_fixed_bytes,
                   body.size() - entry_body_fixed_bytes);
  return e;
}

}  // namespace ringkv::storage::wal
