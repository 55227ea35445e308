// Snapshot file format (pure). File "<term:016x>-<index:016x>.snap" in <data-dir>/member/snap/:
//
//   offset  size  field
//   0       8     magic "RKVSNAP1"
//   8       4     version (1)
//   12      4     zero
//   16      8     term
//   24      8     index
//   32      8     payload_bytes
//   40      8     payload_checksum   XXH3_64bits(payload, seed 0)
//   48      8     zero
//   56      8     header_checksum    XXH3_64bits(bytes [0, 56), seed 0)
//   64      n     payload (the state machine's bytes, opaque here)
//
// The two checksums cover every byte of the file; the file size must be exactly 64 + payload_bytes.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace ringkv::storage::wal {

inline constexpr size_t snapshot_header_bytes = 64;
inline constexpr std::string_view snapshot_file_magic = "RKVSNAP1";

struct snapshot_id {
  uint64_t term = 0;
  uint64_t index = 0;
  friend bool operator==(const snapshot_id&, const snapshot_id&) = default;
};

std::string snapshot_file_name(snapshot_id id);
std::optional<snapshot_id> parse_snapshot_file_name(std::string_view name);

std::array<std::byte, snapshot_header_bytes> encode_snapshot_header(snapshot_id id,
                                                                    std::span<const std::byte> payload);
// The same header for a payload whose size and XXH3_64bits checksum were computed elsewhere (a writer
// that hashes its payload a slice at a time, so no one call hashes hundreds of megabytes).
std::array<std::byte, snapshot_header_bytes> encode_snapshot_header(snapshot_id id, uint64_t payload_bytes,
                                                                    uint64_t payload_checksum);

// Checks a whole snapshot file's bytes against the id its name promises. Returns an empty string when
// valid, else what is wrong.
std::string verify_snapshot_file(snapshot_id expected, std::span<const std::byte> file);

}  // namespace ringkv::storage::wal
