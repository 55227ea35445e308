// libFuzzer target: storage/wal's record reader and recovery (log_rebuilder) on segment contents an
// attacker or a failing disk wrote. Input: byte 0 picks the mode, byte 1 the number of segments (1-3);
// the rest is split evenly into the segments' bytes. Mode bit 0 "seals" the bytes first: every record
// header whose length fits gets the correct chained checksum (segment_seed(seq) for the first), so the
// fuzzer reaches the body decoders and the recovery rules instead of stopping at the first checksum.
// Recovery may refuse with corruption_error, never crash; what it returns must be consistent: entries
// contiguous and end_offset inside the last segment's data.
#include <xxhash.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "storage/wal/errors.h"
#include "storage/wal/format.h"
#include "storage/wal/record.h"
#include "storage/wal/recovery.h"
#include "storage/wal/segment_name.h"

namespace {

using namespace ringkv::storage::wal;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

// Rewrites each record's checksum so that the chain verifies, as far as the lengths allow.
void seal_records(std::vector<std::byte>& data, uint64_t seq) {
  uint64_t seed = segment_seed(seq);
  size_t offset = 0;
  while (data.size() - offset >= record_header_bytes) {
    std::byte* at = data.data() + offset;
    const uint32_t body_bytes = get_u32(at + 8);
    if (body_bytes > data.size() - offset - record_header_bytes) return;
    seed = XXH3_64bits_withSeed(at + 8, 8 + size_t{body_bytes}, seed);
    put_u64(at, seed);
    offset += record_header_bytes + body_bytes;
  }
}

bool first_bytes_zero(const std::vector<std::byte>& data) {
  for (size_t i = 0; i < record_header_bytes && i < data.size(); ++i)
    if (data[i] != std::byte{0}) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* input, size_t size) {
  if (size < 2) return 0;
  const bool seal = input[0] & 1;
  const size_t segment_count = 1 + input[1] % 3;
  const size_t each = (size - 2) / segment_count;
  std::vector<std::vector<std::byte>> segments(segment_count);
  for (size_t i = 0; i < segment_count; ++i) {
    const auto* from = reinterpret_cast<const std::byte*>(input + 2 + i * each);
    segments[i].assign(from, from + each);
    if (seal) seal_records(segments[i], i);
  }
  // Each segment's records one by one, as the reader walks them: every `ok` lies inside the data.
  for (size_t i = 0; i < segment_count; ++i) {
    uint64_t seed = segment_seed(i);
    size_t offset = 0;
    record_view record;
    std::string why;
    while (read_record(segments[i], offset, seed, record, why) == read_status::ok) {
      check(record.total_bytes >= record_header_bytes && record.total_bytes <= segments[i].size() - offset);
      switch (record.type) {
        case record_type::segment_header: decode_segment_header(record.body); break;
        case record_type::hard_state: decode_hard_state(record.body); break;
        case record_type::snapshot_marker: decode_snapshot_marker(record.body); break;
        case record_type::entry: decode_entry(record.body); break;
      }
      seed = record.checksum;
      offset += record.total_bytes;
    }
  }
  size_t last_with_data = segment_count;
  for (size_t i = 0; i < segment_count; ++i)
    if (!first_bytes_zero(segments[i])) last_with_data = i;
  try {
    log_rebuilder rebuilder(block_bytes);
    for (size_t i = 0; i < segment_count; ++i) {
      const segment_id id{i, 1};
      const std::string name = segment_file_name(id);
      if (last_with_data != segment_count && i <= last_with_data)
        rebuilder.add_segment(id, name, segments[i], i == last_with_data);
      else
        rebuilder.add_empty_segment(name, segments[i], i + 1 == segment_count);
    }
    const recovered_log log = std::move(rebuilder).finish();
    for (size_t i = 1; i < log.entries.size(); ++i) check(log.entries[i].index == log.entries[i - 1].index + 1);
    if (!log.segments.empty()) check(log.end_offset <= segments[log.segments.size() - 1].size());
  } catch (const corruption_error&) {
    // refused, naming file and offset: the expected answer to corrupt acknowledged data
  }
  return 0;
}
