// ringkv-wal-dump: prints the segments of a WAL directory record by record (offline, read-only).
// An independent reader of the format in docs/architecture.md: it uses the record codec but none of
// the writer or recovery code. Usage: ringkv-wal-dump <wal-dir> [--entries]  (--entries: every entry
// and hard-state record; otherwise headers, snapshot markers and a summary per segment). Exit status 1
// when a segment ends in a bad record (a torn tail or corruption: open() decides which).
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "storage/wal/record.h"
#include "storage/wal/segment_name.h"

namespace {

using namespace ringkv::storage::wal;

bool dump_segment(const std::filesystem::path& path, segment_id id, bool show_entries) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::span<const std::byte> data(reinterpret_cast<const std::byte*>(raw.data()), raw.size());
  std::printf("%s: seq %" PRIu64 ", first index %" PRIu64 ", %zu bytes\n", path.filename().c_str(), id.seq,
              id.first_index, raw.size());
  uint64_t offset = 0, chain = segment_seed(id.seq), entries = 0, first = 0, last = 0;
  hard_state last_state;
  record_view r;
  std::string why;
  read_status status;
  while ((status = read_record(data, offset, chain, r, why)) == read_status::ok) {
    if (r.type == record_type::segment_header) {
      if (auto h = decode_segment_header(r.body)) {
        std::printf("  @%" PRIu64 " segment header: version %u, segment_bytes %" PRIu64 ", write_bytes_limit %" PRIu64
                    ", prev_chain %016" PRIx64 "\n",
                    offset, h->version, h->segment_bytes, h->write_bytes_limit, h->prev_segment_chain);
      }
    } else if (r.type == record_type::hard_state) {
      if (auto hs = decode_hard_state(r.body)) {
        last_state = *hs;
        if (show_entries) {
          std::printf("  @%" PRIu64 " hard state: term %" PRIu64 ", vote %" PRIu64 ", commit %" PRIu64 "\n", offset,
                      hs->term, hs->vote, hs->commit);
        }
      }
    } else if (r.type == record_type::snapshot_marker) {
      if (auto m = decode_snapshot_marker(r.body)) {
        std::printf("  @%" PRIu64 " snapshot marker: index %" PRIu64 ", term %" PRIu64 "\n", offset, m->index, m->term);
      }
    } else if (auto e = decode_entry(r.body)) {
      if (entries++ == 0) first = e->index;
      last = e->index;
      if (show_entries) {
        std::printf("  @%" PRIu64 " entry: index %" PRIu64 ", term %" PRIu64 ", kind %u, %zu payload bytes\n", offset,
                    e->index, e->term, e->kind, e->payload.size());
      }
    }
    offset += r.total_bytes;
    chain = r.checksum;
  }
  std::printf("  last hard state: term %" PRIu64 ", vote %" PRIu64 ", commit %" PRIu64 "\n", last_state.term,
              last_state.vote, last_state.commit);
  std::printf("  %" PRIu64 " entries (indexes %" PRIu64 "..%" PRIu64 "), data ends at %" PRIu64 ": %s%s\n", entries, first,
              last, offset, status == read_status::end ? "clean end" : "BAD RECORD: ", why.c_str());
  return status == read_status::end;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3 || (argc == 3 && std::string(argv[2]) != "--entries")) {
    std::fprintf(stderr, "usage: %s <wal-dir> [--entries]\n", argv[0]);
    return 2;
  }
  std::vector<std::pair<segment_id, std::filesystem::path>> segments;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(argv[1], ec)) {
    if (auto id = parse_segment_file_name(e.path().filename().string())) segments.emplace_back(*id, e.path());
  }
  if (ec) {
    std::fprintf(stderr, "%s: %s\n", argv[1], ec.message().c_str());
    return 1;
  }
  std::sort(segments.begin(), segments.end(), [](const auto& a, const auto& b) { return a.first.seq < b.first.seq; });
  bool clean = true;
  for (const auto& [id, path] : segments) clean = dump_segment(path, id, argc == 3) && clean;
  return clean ? 0 : 1;
}
