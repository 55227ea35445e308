// Snapshot file header encoding, name parsing and whole-file verification.
#include "storage/wal/snapshot_format.h"

#include <cinttypes>
#include <cstdio>
#include <xxhash.h>

#include "storage/wal/format.h"
#include "storage/wal/segment_name.h"

namespace ringkv::storage::wal {
namespace {
constexpr uint32_t snapshot_version = 1;
}  // namespace

std::string snapshot_file_name(snapshot_id id) {
  char name[64];
  std::snprintf(name, sizeof name, "%016" PRIx64 "-%016" PRIx64 ".snap", id.term, id.index);
  return name;
}

std::optional<snapshot_id> parse_snapshot_file_name(std::string_view name) {
  constexpr std::string_view suffix = ".snap";
  if (name.size() != 16 + 1 + 16 + suffix.size() || name[16] != '-' || !name.ends_with(suffix)) {
    return std::nullopt;
  }
  auto term = parse_hex16(name.substr(0, 16));
  auto index = parse_hex16(name.substr(17, 16));
  if (!term || !index) return std::nullopt;
  return snapshot_id{*term, *index};
}

std::array<std::byte, snapshot_header_bytes> encode_snapshot_header(snapshot_id id,
                                                                    std::span<const std::byte> payload) {
  return encode_snapshot_header(id, payload.size(), XXH3_64bits(payload.data(), payload.size()));
}

std::array<std::byte, snapshot_header_bytes> encode_snapshot_header(snapshot_id id, uint64_t payload_bytes,
                                                                    uint64_t payload_checksum) {
  std::array<std::byte, snapshot_header_bytes> h{};
  std::memcpy(h.data(), snapshot_file_magic.data(), 8);
  put_u32(h.data() + 8, snapshot_version);
  put_u64(h.data() + 16, id.term);
  put_u64(h.data() + 24, id.index);
  put_u64(h.data() + 32, payload_bytes);
  put_u64(h.data() + 40, payload_checksum);
  put_u64(h.data() + 56, XXH3_64bits(h.data(), 56));
  return h;
}

std::string verify_snapshot_file(snapshot_id expected, std::span<const std::byte> file) {
  if (file.size() < snapshot_header_bytes) return "file shorter than the snapshot header";
  const std::byte* h = file.data();
  if (std::memcmp(h, snapshot_file_magic.data(), 8) != 0) return "bad magic";
  if (XXH3_64bits(h, 56) != get_u64(h + 56)) return "header checksum mismatch";
  if (get_u32(h + 8) != snapshot_version) return "unsupported snapshot version";
  if (get_u64(h + 16) != expected.term || get_u64(h + 24) != expected.index) {
    return "header term/index do not match the file name";
  }
  const uint64_t payload_bytes = get_u64(h + 32);
  if (payload_bytes != file.size() - snapshot_header_bytes) return "file size does not match the header";
  auto payload = file.subspan(snapshot_header_bytes);
  if (XXH3_64bits(payload.data(), payload.size()) != get_u64(h + 40)) return "payload checksum mismatch";
  return {};
}

}  // namespace ringkv::storage::wal
