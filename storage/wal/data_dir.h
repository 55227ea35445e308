// Whose files are in a --data-dir: ringkv recognizes its own files positively and refuses to start on
// anything else, so it never deletes, truncates, renames or rewrites a file it did not write (an etcd
// data dir has the same member/wal and member/snap folders and even the same file name patterns).
//
// ringkv's data dir:
//   <data-dir>/ringkv.version          the marker: "ringkv data dir format 1\n", written (temp file,
//                                      fsync, rename, directory fsync) before anything else is created
//   <data-dir>/member/ringkv-identity  starts with "RKIDENT1" (server/replica/membership_join.h)
//   <data-dir>/member/wal/<seq>-<first index>.wal   a WAL segment (storage/wal/format.h): its first
//                                      record is a segment header whose fields match the file name, or
//                                      its first 16 bytes are zero (created, never written)
//   <data-dir>/member/wal/next.wal.tmp the segment being preallocated
//   <data-dir>/member/snap/<term>-<index>.snap      starts with "RKVSNAP1" (snapshot_format.h)
//   <data-dir>/member/snap/<snapshot name>.tmp      a save that was interrupted
//   <data-dir>/member/snap/<snapshot name>.broken   moved aside (never read, deleted or renamed again)
//
// Rules (classify_file, classify_data_dir):
//   - etcd's files: member/snap/db, member/snap/*.snap.db, member/wal/<n>.tmp, and a .wal/.snap with
//     ringkv's name pattern (etcd uses the same) whose first bytes are etcd's (a walpb crc record, a
//     snappb message) rather than ringkv's.
//   - Anything else in member/, member/wal/ or member/snap/ is unknown (a stray file, a segment whose
//     header is neither's): refused, left alone.
//   - Other entries at the top of the data dir are ignored: ringkv never writes there except its marker
//     (a mount point's lost+found, an operator's notes).
//   - A data dir without the marker whose files are all ringkv's was made by ringkv before the marker
//     existed (or is new): it opens, and the marker is written. A marker with a newer format is refused.
//   - Recognition reads only names and each file's first `file_head_bytes` bytes; it never writes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "storage/wal/segment_name.h"
#include "storage/wal/snapshot_format.h"

namespace ringkv::storage::wal {

inline constexpr std::string_view data_dir_marker_name = "ringkv.version";
inline constexpr uint32_t data_dir_format_version = 1;
inline constexpr std::string_view identity_file_name = "ringkv-identity";  // in <data-dir>/member
inline constexpr std::string_view identity_file_magic = "RKIDENT1";
inline constexpr size_t file_head_bytes = 64;  // how much of each file recognition reads

// "ringkv data dir format <version>\n"
std::string data_dir_marker_content(uint32_t version);
// The version a marker file's bytes name; nullopt if they are not exactly a marker.
std::optional<uint32_t> parse_data_dir_marker(std::string_view content);

// True when `head` (a segment file's first bytes) is ringkv's segment header for segment `id`: the
// record frame (48-byte body, type segment_header), version, block size, seq and first index all
// match. The checksum is not required: it recognizes a header whose checksum bytes were torn.
bool looks_like_segment_header(std::span<const std::byte> head, segment_id id);

enum class file_kind {
  ringkv,   // positively ringkv's: it may be rewritten, renamed or removed as its owner's rules say
  etcd,     // etcd's: never touched
  unknown,  // neither, in a folder ringkv owns: never touched, refused
  ignored,  // not ringkv's business (top-level entries, ".broken" files): never touched, not refused
};

// `relative_path` is relative to the data dir ("member/wal/0000000000000000-0000000000000000.wal");
// `head` holds the file's first bytes (up to file_head_bytes; fewer for a shorter file). Directories
// are classified by their paths with `is_dir`.
file_kind classify_file(std::string_view relative_path, bool is_dir, std::span<const std::byte> head);

struct data_dir_entry {
  std::string path;  // relative to the data dir
  bool is_dir = false;
  std::vector<std::byte> head;
};

enum class data_dir_kind {
  empty,            // nothing of anyone's yet: ringkv creates its files
  ringkv,           // the marker and only ringkv's files
  ringkv_unmarked,  // only ringkv's files, no marker (an earlier ringkv): opens, the marker is added
  newer_format,     // ringkv's marker with a format this build does not know
  etcd,             // etcd's files (maybe beside ringkv's): refused
  foreign,          // unknown files in ringkv's folders: refused
};

struct data_dir_verdict {
  data_dir_kind kind = data_dir_kind::empty;
  uint32_t marker_version = 0;           // 0 without a (valid) marker
  std::vector<std::string> etcd_files;   // relative paths, in the order found
  std::vector<std::string> unknown_files;
  // The refused files, at most `limit` of them, comma-separated ("member/snap/db, member/wal/...").
  std::string found(size_t limit = 4) const;
};

data_dir_verdict classify_data_dir(const std::vector<data_dir_entry>& entries);

// ---- I/O (blocking: only at start-up, before anything is served) ----

// Lists the data dir's top level and member/, member/wal/, member/snap/ with each regular file's
// head. A missing data dir gives no entries. Throws wal_error when a folder cannot be read.
std::vector<data_dir_entry> scan_data_dir(const std::string& data_dir);

inline data_dir_verdict inspect_data_dir(const std::string& data_dir) {
  return classify_data_dir(scan_data_dir(data_dir));
}

// Durably writes the marker (temp file, fsync, rename, fsync of the data dir). The data dir must
// exist and have no marker. Throws wal_error.
void write_data_dir_marker(const std::string& data_dir);

}  // namespace ringkv::storage::wal
