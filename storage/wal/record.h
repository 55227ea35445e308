// Record codec: writes framed, chain-checksummed records into a byte buffer and reads them back.
// Pure (no I/O); the layout is in storage/wal/format.h.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "storage/wal/format.h"

namespace ringkv::storage::wal {

// One raft entry as given to append(): the payload is borrowed, not copied until encoded.
struct entry_view {
  uint64_t index = 0;
  uint64_t term = 0;
  uint32_t kind = 0;  // opaque to the WAL (raft's entry type)
  std::string_view payload;
};

// One raft entry as recovered from disk (owns its payload).
struct entry {
  uint64_t index = 0;
  uint64_t term = 0;
  uint32_t kind = 0;
  std::string payload;
  friend bool operator==(const entry&, const entry&) = default;
};

inline constexpr size_t record_bytes(size_t body_bytes) { return record_header_bytes + body_bytes; }
inline constexpr size_t entry_record_bytes(size_t payload_bytes) {
  return record_bytes(entry_body_fixed_bytes + payload_bytes);
}

// Each encoder writes one record at `out` (which must have record_bytes(body) bytes of room) chained on
// `seed`, and returns the record's checksum: the seed of the next record.
uint64_t encode_entry(std::byte* out, const entry_view& e, uint64_t seed);
uint64_t encode_hard_state(std::byte* out, const hard_state& hs, uint64_t seed);
uint64_t encode_snapshot_marker(std::byte* out, const snapshot_marker& m, uint64_t seed);
uint64_t encode_segment_header(std::byte* out, const segment_header_body& h);  // seed: segment_seed

struct record_view {
  record_type type{};
  std::span<const std::byte> body;
  uint64_t checksum = 0;
  size_t total_bytes = 0;  // header + body
};

enum class read_status {
  ok,    // a verified record
  end,   // 16 zero bytes, or fewer than 16 bytes left: the clean end of the data
  bad,   // checksum mismatch, impossible length/type, or a record cut off by the end of the data
};

// Reads the record at `data[offset]` chained on `seed`. On `bad`, `why` says what failed.
read_status read_record(std::span<const std::byte> data, size_t offset, uint64_t seed, record_view& out,
                        std::string& why);

// Body decoders: nullopt when the body length or contents are impossible.
std::optional<segment_header_body> decode_segment_header(std::span<const std::byte> body);
std::optional<hard_state> decode_hard_state(std::span<const std::byte> body);
std::optional<snapshot_marker> decode_snapshot_marker(std::span<const std::byte> body);
std::optional<entry> decode_entry(std::span<const std::byte> body);

}  // namespace ringkv::storage::wal
