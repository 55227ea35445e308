// Rebuilds the log's state from segment contents (pure: the caller reads the files). Verifies every
// checksum, the chain across segments and index continuity; tells a torn tail (the last write of a
// crashed process, which is truncated) from corruption (reported with file and offset, never skipped).
//
// Rule: only the last segment holding data may end in a bad record, and only if every byte from
// align_down(bad_offset, 4 KiB) + write_bytes_limit on is zero: one write never spans more than
// write_bytes_limit from the block where the last durable data ended, so anything beyond was acked.
// A newest segment whose header did not verify is dropped (listed in empty_files for removal) only when
// it is recognizably ringkv's (storage/wal/data_dir.h): first 16 bytes zero, or the header's fields
// intact with only its checksum torn. Anything else is reported, never removed.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "storage/wal/format.h"
#include "storage/wal/record.h"
#include "storage/wal/segment_name.h"

namespace ringkv::storage::wal {

struct retained_segment {
  segment_id id;
  std::string file_name;
};

struct recovered_log {
  hard_state state;
  snapshot_marker snapshot;      // latest snapshot marker ({0,0} when none)
  std::vector<entry> entries;    // contiguous, oldest retained first, conflicting suffixes resolved
  std::vector<retained_segment> segments;  // segments holding data, in order
  std::vector<std::string> empty_files;    // trailing segments with no data: to delete
  // Where the writer continues (valid only when !segments.empty()):
  uint64_t end_offset = 0;       // end of the valid data in the last segment
  uint64_t chain = 0;            // checksum of the last valid record (seed of the next)
  uint64_t last_segment_bytes = 0;
  bool tail_torn = false;        // bytes after end_offset must be zeroed before writing
  // Index bookkeeping for appends: the highest index in the log (or the snapshot index if larger).
  uint64_t last_index() const;
};

class log_rebuilder {
 public:
  // fallback_write_bytes_limit: the torn-window size when the last segment's header itself is torn.
  explicit log_rebuilder(uint64_t fallback_write_bytes_limit);

  // Feed segments in seq order. `has_data` is false for a segment whose first 16 bytes are zero; every
  // segment after the last one with data must have none (those are files created but never written).
  // `data` is the file content (may be shorter than the segment if the file was truncated).
  // Throws corruption_error.
  void add_segment(segment_id id, const std::string& file_name, std::span<const std::byte> data,
                   bool is_last_with_data);
  // A segment after the last one with data (created, never acknowledged). Must be zero, except that
  // the newest file (is_last_file) may hold one torn write's blocks after its missing header.
  void add_empty_segment(const std::string& file_name, std::span<const std::byte> data, bool is_last_file);

  recovered_log finish() &&;

 private:
  void apply(const record_view& r, const std::string& file_name, uint64_t offset);
  void apply_entry(entry e, const std::string& file_name, uint64_t offset);

  uint64_t fallback_write_bytes_limit_;
  recovered_log log_;
  bool have_segment_ = false;
  uint64_t last_seq_ = 0;
  bool seen_last_ = false;
  bool seen_entry_ = false;
};

}  // namespace ringkv::storage::wal
