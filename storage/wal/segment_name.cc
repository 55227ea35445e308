// Segment file name formatting and strict parsing.
#include "storage/wal/segment_name.h"

#include <cinttypes>
#include <cstdio>

namespace ringkv::storage::wal {

std::string segment_file_name(segment_id id) {
  char name[64];
  std::snprintf(name, sizeof name, "%016" PRIx64 "-%016" PRIx64 ".wal", id.seq, id.first_index);
  return name;
}

std::optional<uint64_t> parse_hex16(std::string_view digits) {
  if (digits.size() != 16) return std::nullopt;
  uint64_t value = 0;
  for (char c : digits) {
    uint64_t nibble;
    if (c >= '0' && c <= '9') nibble = static_cast<uint64_t>(c - '0');
    else if (c >= 'a' && c <= 'f') nibble = static_cast<uint64_t>(c - 'a' + 10);
    else return std::nullopt;
    value = value << 4 | nibble;
  }
  return value;
}

std::optional<segment_id> parse_segment_file_name(std::string_view name) {
  constexpr std::string_view suffix = ".wal";
  if (name.size() != 16 + 1 + 16 + suffix.size() || name[16] != '-' || !name.ends_with(suffix)) {
    return std::nullopt;
  }
  auto seq = parse_hex16(name.substr(0, 16));
  auto first = parse_hex16(name.substr(17, 16));
  if (!seq || !first) return std::nullopt;
  return segment_id{*seq, *first};
}

}  // namespace ringkv::storage::wal
