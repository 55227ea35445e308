// Log rebuilding from segment contents: checksum chain, torn-tail rule, index continuity.
#include "storage/wal/recovery.h"

#include <algorithm>
#include <cassert>

#include "storage/wal/data_dir.h"
#include "storage/wal/errors.h"

namespace ringkv::storage::wal {
namespace {

// Offset of the first non-zero byte at or after `from`, or data.size() if there is none.
uint64_t first_nonzero(std::span<const std::byte> data, uint64_t from) {
  uint64_t at = from;
  while (at < data.size() && at % 8 != 0) {
    if (data[at] != std::byte{0}) return at;
    ++at;
  }
  while (at + 8 <= data.size()) {
    if (get_u64(data.data() + at) != 0) break;
    at += 8;
  }
  while (at < data.size() && data[at] == std::byte{0}) ++at;
  return at;
}

// Throws unless everything from the end of the last write window on is zero.
void require_zero_beyond_window(std::span<const std::byte> data, const std::string& file,
                                uint64_t bad_offset, uint64_t write_bytes_limit, const std::string& why) {
  const uint64_t window_end = align_down(bad_offset, block_bytes) + write_bytes_limit;
  const uint64_t nonzero = first_nonzero(data, window_end);
  if (nonzero < data.size()) {
    throw corruption_error(file, bad_offset,
                           why + " (and data follows at offset " + std::to_string(nonzero) +
                               ", beyond what one torn write can leave)");
  }
}

}  // namespace

uint64_t recovered_log::last_index() const {
  const uint64_t last_entry = entries.empty() ? 0 : entries.back().index;
  return std::max(last_entry, snapshot.index);
}

log_rebuilder::log_rebuilder(uint64_t fallback_write_bytes_limit)
    : fallback_write_bytes_limit_(fallback_write_bytes_limit) {
  assert(fallback_write_bytes_limit % block_bytes == 0 && fallback_write_bytes_limit > 0);
}

void log_rebuilder::add_segment(segment_id id, const std::string& file_name, std::span<const std::byte> data,
                                bool is_last_with_data) {
  assert(!seen_last_);
  seen_last_ = is_last_with_data;
  if (have_segment_ && id.seq != last_seq_ + 1) {
    throw corruption_error(file_name, 0, "segment sequence gap: expected seq " + std::to_string(last_seq_ + 1));
  }

  // The segment header: the first record, chained on the segment's own seed.
  record_view r;
  std::string why;
  const read_status first = read_record(data, 0, segment_seed(id.seq), r, why);
  std::optional<segment_header_body> header;
  if (first == read_status::ok && r.type == record_type::segment_header) header = decode_segment_header(r.body);
  if (!header) {
    if (why.empty()) why = "missing or invalid segment header";
    if (!is_last_with_data) throw corruption_error(file_name, 0, why);
    // Removed below only if it is positively ours: the header's fields landed, its checksum did not.
    if (!looks_like_segment_header(data.first(std::min(data.size(), file_head_bytes)), id)) {
      throw corruption_error(file_name, 0, why + "; its first bytes are not a ringkv segment header, so ringkv "
                                                 "leaves the file alone (is it another program's?)");
    }
    require_zero_beyond_window(data, file_name, 0, fallback_write_bytes_limit_, why);
    log_.empty_files.push_back(file_name);  // torn while writing its first block: never acknowledged
    return;
  }
  if (header->segment_seq != id.seq || header->first_index != id.first_index) {
    throw corruption_error(file_name, 0, "segment header does not match the file name");
  }
  if (have_segment_ && header->prev_segment_chain != log_.chain) {
    throw corruption_error(file_name, 0, "segment does not continue the previous segment's checksum chain");
  }

  uint64_t offset = r.total_bytes;
  uint64_t chain = r.checksum;
  read_status status;
  while ((status = read_record(data, offset, chain, r, why)) == read_status::ok) {
    apply(r, file_name, offset);
    offset += r.total_bytes;
    chain = r.checksum;
  }

  log_.tail_torn = false;
  if (!is_last_with_data) {
    if (status == read_status::bad) throw corruption_error(file_name, offset, why);
    const uint64_t nonzero = first_nonzero(data, offset);
    if (nonzero < data.size()) throw corruption_error(file_name, nonzero, "data after the end of a sealed segment");
    if (data.size() < header->segment_bytes) {
      throw corruption_error(file_name, data.size(), "sealed segment file is shorter than its header says");
    }
  } else {
    if (status == read_status::bad) {
      require_zero_beyond_window(data, file_name, offset, header->write_bytes_limit, why);
      log_.tail_torn = true;
    } else if (first_nonzero(data, offset) < data.size()) {
      require_zero_beyond_window(data, file_name, offset, header->write_bytes_limit,
                                 "unverifiable data after the end of the log");
      log_.tail_torn = true;
    }
    if (data.size() < header->segment_bytes) log_.tail_torn = true;  // truncated file: re-extend it
  }
  have_segment_ = true;
  last_seq_ = id.seq;
  log_.segments.push_back({id, file_name});
  log_.end_offset = offset;
  log_.chain = chain;
  log_.last_segment_bytes = header->segment_bytes;
}

void log_rebuilder::add_empty_segment(const std::string& file_name, std::span<const std::byte> data,
                                      bool is_last_file) {
  // Only the newest file can hold a torn first write (blocks after a header that never landed);
  // any other file after the end of the log must be entirely zero.
  if (is_last_file) {
    require_zero_beyond_window(data, file_name, 0, fallback_write_bytes_limit_, "segment without a header");
  } else {
    const uint64_t nonzero = first_nonzero(data, 0);
    if (nonzero < data.size()) {
      throw corruption_error(file_name, nonzero, "data in a segment that follows the end of the log");
    }
  }
  log_.empty_files.push_back(file_name);
}

void log_rebuilder::apply(const record_view& r, const std::string& file_name, uint64_t offset) {
  switch (r.type) {
    case record_type::segment_header:
      throw corruption_error(file_name, offset, "segment header in the middle of a segment");
    case record_type::hard_state: {
      auto hs = decode_hard_state(r.body);
      if (!hs) throw corruption_error(file_name, offset, "bad hard state record");
      log_.state = *hs;
      return;
    }
    case record_type::snapshot_marker: {
      auto m = decode_snapshot_marker(r.body);
      if (!m) throw corruption_error(file_name, offset, "bad snapshot marker record");
      if (m->index > log_.last_index()) log_.entries.clear();  // the log restarts after the snapshot
      log_.snapshot = *m;
      return;
    }
    case record_type::entry: {
      auto e = decode_entry(r.body);
      if (!e) throw corruption_error(file_name, offset, "bad entry record");
      apply_entry(std::move(*e), file_name, offset);
      return;
    }
  }
  throw corruption_error(file_name, offset, "unknown record type");
}

void log_rebuilder::apply_entry(entry e, const std::string& file_name, uint64_t offset) {
  auto& entries = log_.entries;
  // The first entry recovered may start anywhere: older segments may have been released.
  const bool fresh_log = !seen_entry_;
  seen_entry_ = true;
  if (!fresh_log && e.index > log_.last_index() + 1) {
    throw corruption_error(file_name, offset,
                           "entry index gap: got " + std::to_string(e.index) + " after " +
                               std::to_string(log_.last_index()));
  }
  if (!entries.empty() && e.index <= entries.back().index) {  // raft overwrote a conflicting suffix
    if (e.index <= entries.front().index) {
      entries.clear();
    } else {
      entries.resize(e.index - entries.front().index);
    }
  }
  assert(entries.empty() || entries.back().index + 1 == e.index);
  entries.push_back(std::move(e));
}

recovered_log log_rebuilder::finish() && { return std::move(log_); }

}  // namespace ringkv::storage::wal
