// Segment file names: "<seq:016x>-<first_index:016x>.wal", so `ls` sorts them in log order and shows
// the first raft index each one holds. The segment being preallocated ahead of need is "next.wal.tmp".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringkv::storage::wal {

struct segment_id {
  uint64_t seq = 0;          // 0, 1, 2, ... without gaps over the life of the log
  uint64_t first_index = 0;  // index of the first entry appended into this segment
  friend bool operator==(const segment_id&, const segment_id&) = default;
};

inline constexpr std::string_view preallocated_segment_name = "next.wal.tmp";

std::string segment_file_name(segment_id id);
// nullopt for any name that is not exactly a segment name (temp files, .broken, other files).
std::optional<segment_id> parse_segment_file_name(std::string_view name);

// Shared by the snapshot file names: exactly 16 lowercase hex digits.
std::optional<uint64_t> parse_hex16(std::string_view digits);

}  // namespace ringkv::storage::wal
