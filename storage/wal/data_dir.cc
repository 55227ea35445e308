// Recognition of ringkv's own data dir files by name and first bytes (pure: the scan reads them).
#include "storage/wal/data_dir.h"

#include <algorithm>
#include <cstring>

#include "storage/wal/format.h"
#include "storage/wal/snapshot_format.h"

namespace ringkv::storage::wal {
namespace {

constexpr std::string_view marker_prefix = "ringkv data dir format ";
constexpr std::string_view temp_suffix = ".tmp";
constexpr std::string_view broken_suffix = ".broken";

bool starts_with(std::span<const std::byte> head, std::string_view magic) {
  return head.size() >= magic.size() && std::memcmp(head.data(), magic.data(), magic.size()) == 0;
}

bool all_zero(std::span<const std::byte> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](std::byte b) { return b == std::byte{0}; });
}

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// etcd's WAL segments start with a crcType record: an 8-byte frame length (the top byte may flag
// padding), then walpb.Record whose field 1 (type, a varint) is 4.
bool looks_like_etcd_segment(std::span<const std::byte> head) {
  return head.size() >= 10 && head[8] == std::byte{0x08} && head[9] == std::byte{0x04};
}

file_kind classify_wal_file(std::string_view name, std::span<const std::byte> head) {
  if (name == preallocated_segment_name) return file_kind::ringkv;
  if (auto id = parse_segment_file_name(name)) {
    // Created by renaming a zeroed next.wal.tmp, so never written yet; etcd writes its first records
    // into a segment before renaming it into place.
    if (all_zero(head.first(std::min(head.size(), record_header_bytes)))) return file_kind::ringkv;
    if (looks_like_segment_header(head, *id)) return file_kind::ringkv;
    return looks_like_etcd_segment(head) ? file_kind::etcd : file_kind::unknown;
  }
  if (name.ends_with(temp_suffix) && all_digits(name.substr(0, name.size() - temp_suffix.size()))) {
    return file_kind::etcd;  // etcd's preallocated "0.tmp", "1.tmp"
  }
  return file_kind::unknown;
}

file_kind classify_snap_file(std::string_view name, std::span<const std::byte> head) {
  if (name == "db" || name.ends_with(".snap.db")) return file_kind::etcd;  // etcd's bbolt backend
  if (name.ends_with(broken_suffix)) return file_kind::ignored;           // ringkv or etcd put it aside
  if (parse_snapshot_file_name(name)) {
    if (starts_with(head, snapshot_file_magic)) return file_kind::ringkv;
    // etcd's snappb.Snapshot: field 1 (crc, a varint) comes first.
    return !head.empty() && head[0] == std::byte{0x08} ? file_kind::etcd : file_kind::unknown;
  }
  if (name.ends_with(temp_suffix) && parse_snapshot_file_name(name.substr(0, name.size() - temp_suffix.size()))) {
    return file_kind::ringkv;  // an interrupted save
  }
  return file_kind::unknown;
}

file_kind classify_member_file(std::string_view name, bool is_dir, std::span<const std::byte> head) {
  if (name == "wal" || name == "snap") return is_dir ? file_kind::ringkv : file_kind::unknown;
  if (is_dir) return file_kind::unknown;
  if (name == identity_file_name) return starts_with(head, identity_file_magic) ? file_kind::ringkv : file_kind::unknown;
  if (name == std::string(identity_file_name) + std::string(temp_suffix)) return file_kind::ringkv;
  return file_kind::unknown;
}

}  // namespace

std::string data_dir_marker_content(uint32_t version) {
  return std::string(marker_prefix) + std::to_string(version) + "\n";
}

std::optional<uint32_t> parse_data_dir_marker(std::string_view content) {
  if (!content.starts_with(marker_prefix) || !content.ends_with('\n')) return std::nullopt;
  const std::string_view digits = content.substr(marker_prefix.size(), content.size() - marker_prefix.size() - 1);
  if (!all_digits(digits) || digits.size() > 9 || digits[0] == '0') return std::nullopt;
  return static_cast<uint32_t>(std::stoul(std::string(digits)));
}

bool looks_like_segment_header(std::span<const std::byte> head, segment_id id) {
  if (head.size() < record_header_bytes + segment_header_body_bytes) return false;
  const std::byte* frame = head.data() + 8;  // after the checksum
  const std::byte* body = head.data() + record_header_bytes;
  return get_u32(frame) == segment_header_body_bytes &&
         frame[4] == std::byte{static_cast<uint8_t>(record_type::segment_header)} &&
         frame[5] == std::byte{0} && frame[6] == std::byte{0} && frame[7] == std::byte{0} &&
         get_u32(body) == format_version && get_u32(body + 4) == block_bytes && get_u64(body + 8) == id.seq &&
         get_u64(body + 16) == id.first_index;
}

file_kind classify_file(std::string_view relative_path, bool is_dir, std::span<const std::byte> head) {
  const auto slash = relative_path.find('/');
  if (slash == std::string_view::npos) {  // the top of the data dir
    if (relative_path == "member") return is_dir ? file_kind::ringkv : file_kind::unknown;
    if (relative_path == data_dir_marker_name) {
      const std::string_view text(reinterpret_cast<const char*>(head.data()), head.size());
      return !is_dir && parse_data_dir_marker(text) ? file_kind::ringkv : file_kind::unknown;
    }
    if (relative_path == std::string(data_dir_marker_name) + std::string(temp_suffix)) return file_kind::ringkv;
    return file_kind::ignored;
  }
  const std::string_view folder = relative_path.substr(0, slash);
  const std::string_view rest = relative_path.substr(slash + 1);
  if (folder != "member") return file_kind::ignored;
  if (rest.starts_with("wal/")) return is_dir ? file_kind::unknown : classify_wal_file(rest.substr(4), head);
  if (rest.starts_with("snap/")) return is_dir ? file_kind::unknown : classify_snap_file(rest.substr(5), head);
  return classify_member_file(rest, is_dir, head);
}

data_dir_verdict classify_data_dir(const std::vector<data_dir_entry>& entries) {
  data_dir_verdict verdict;
  bool ours = false;
  for (const data_dir_entry& e : entries) {
    switch (classify_file(e.path, e.is_dir, e.head)) {
      case file_kind::ringkv: ours = true; break;
      case file_kind::etcd: verdict.etcd_files.push_back(e.path); break;
      case file_kind::unknown: verdict.unknown_files.push_back(e.path); break;
      case file_kind::ignored: break;
    }
    if (e.path == data_dir_marker_name && !e.is_dir) {
      const std::string_view text(reinterpret_cast<const char*>(e.head.data()), e.head.size());
      verdict.marker_version = parse_data_dir_marker(text).value_or(0);
    }
  }
  if (!verdict.etcd_files.empty()) verdict.kind = data_dir_kind::etcd;
  else if (!verdict.unknown_files.empty()) verdict.kind = data_dir_kind::foreign;
  else if (verdict.marker_version > data_dir_format_version) verdict.kind = data_dir_kind::newer_format;
  else if (verdict.marker_version != 0) verdict.kind = data_dir_kind::ringkv;
  else if (ours) verdict.kind = data_dir_kind::ringkv_unmarked;
  else verdict.kind = data_dir_kind::empty;
  return verdict;
}

std::string data_dir_verdict::found(size_t limit) const {
  std::string text;
  size_t listed = 0;
  for (const auto* files : {&etcd_files, &unknown_files}) {
    for (const std::string& path : *files) {
      if (listed == limit) return text + ", ...";
      text += (listed++ == 0 ? "" : ", ") + path;
    }
  }
  return text;
}

}  // namespace ringkv::storage::wal
