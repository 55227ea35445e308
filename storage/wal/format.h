// On-disk format of WAL segments: constants, record types and the fixed little-endian record bodies.
// docs/architecture.md (## storage/wal) describes the same format in prose, byte by byte.
//
// A segment is a file of `segment_bytes` (multiple of 4 KiB) holding a contiguous stream of records
// from offset 0, followed by zero bytes. Every record:
//
//   offset  size  field
//   0       8     checksum   XXH3_64bits_withSeed(bytes [8, 16 + body_bytes), seed)
//   8       4     body_bytes
//   12      1     type       (record_type, never 0)
//   13      3     zero
//   16      n     body
//
// seed = checksum of the previous record in the same segment (a chain), or segment_seed(seq) for the
// first record. The chain makes a block from another segment, another position or an older write fail
// verification. A header of 16 zero bytes marks the clean end of the data.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ringkv::storage::wal {

inline constexpr uint32_t format_version = 1;
inline constexpr size_t block_bytes = 4096;            // O_DIRECT alignment and the unit of rewrites
inline constexpr size_t record_header_bytes = 16;

enum class record_type : uint8_t {
  segment_header = 1,   // first record of every segment
  hard_state = 2,       // raft hard state (term, vote, commit)
  snapshot_marker = 3,  // a snapshot at (index, term) exists; entries <= index may be released
  entry = 4,            // one raft entry
};
inline constexpr uint8_t record_type_max = 4;

// Seed of the checksum chain of segment `seq` (the seed of its first record).
inline constexpr uint64_t segment_seed(uint64_t segment_seq) {
  return segment_seq ^ 0x52494e474b564c47ULL;  // "RINGKVLG"
}

// Body of record_type::segment_header (48 bytes).
struct segment_header_body {
  uint32_t version = format_version;
  uint32_t block_bytes_ = block_bytes;
  uint64_t segment_seq = 0;
  uint64_t first_index = 0;            // index the next entry appended after this header would have
  uint64_t segment_bytes = 0;          // file size the segment was preallocated to
  uint64_t write_bytes_limit = 0;      // largest single write: bounds the torn region after a crash
  uint64_t prev_segment_chain = 0;     // final chain value of segment seq - 1 (0 for the first ever)
};
inline constexpr size_t segment_header_body_bytes = 48;

// Body of record_type::hard_state (24 bytes).
struct hard_state {
  uint64_t term = 0;
  uint64_t vote = 0;
  uint64_t commit = 0;
  friend bool operator==(const hard_state&, const hard_state&) = default;
};
inline constexpr size_t hard_state_body_bytes = 24;

// Body of record_type::snapshot_marker (16 bytes).
struct snapshot_marker {
  uint64_t index = 0;
  uint64_t term = 0;
  friend bool operator==(const snapshot_marker&, const snapshot_marker&) = default;
};
inline constexpr size_t snapshot_marker_body_bytes = 16;

// Body of record_type::entry: u64 index, u64 term, u32 kind, then the payload (body_bytes - 20 bytes).
inline constexpr size_t entry_body_fixed_bytes = 20;

// Little-endian field access (the build targets little-endian x86-64/arm64; static_assert keeps it so).
static_assert(std::endian::native == std::endian::little, "WAL format code assumes a little-endian host");

inline void put_u32(std::byte* at, uint32_t v) { std::memcpy(at, &v, 4); }
inline void put_u64(std::byte* at, uint64_t v) { std::memcpy(at, &v, 8); }
inline uint32_t get_u32(const std::byte* at) { uint32_t v; std::memcpy(&v, at, 4); return v; }
inline uint64_t get_u64(const std::byte* at) { uint64_t v; std::memcpy(&v, at, 8); return v; }

inline constexpr uint64_t align_down(uint64_t v, uint64_t a) { return v / a * a; }
inline constexpr uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

}  // namespace ringkv::storage::wal
