// storage/bbolt/writer.h: a streaming bbolt writer. Given top-level buckets whose entries come in
// ascending key order, it emits a valid bbolt file (format.h) page by page into a sink, in file order,
// holding at most one page per tree level in memory - never a second copy of the data.
//
// The meta pages come first in the file but name the root pages, which depend on how many pages every
// bucket takes. So the writer reads every source twice: a planning pass that only counts pages (the
// same page-filling code with no output), then the writing pass. Layout of the file:
//
//   page 0, 1      meta (same content, same txid, as bbolt's Tx.WriteTo writes them)
//   page 2         freelist (empty: every page is in use)
//   page 3 ...     the root bucket's tree (top-level bucket name -> bucket value)
//   then           each non-inline bucket's tree, in name order: leaves left to right, each branch page
//                  right after its last child, the bucket's root last.
//
// Leaves and branches are filled up to the page size (bbolt's sequential-put fill); an entry too large
// for one page gets a page with overflow. A bucket whose only leaf fits in page_size/4 is inlined in
// its parent's value, as bbolt does. Nested buckets are not produced (etcd uses top-level ones only).
//
// Usage:   StreamWriter w(buckets, sink);  while (!w.step(budget)) { /* yield */ }
// Each step() does a bounded amount of work (about `bytes_budget` bytes read or written), so a caller
// on an event loop can interleave it with other work; sources must yield the same entries both times.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/bbolt/format.h"

namespace ringkv::storage::bbolt {

// One bucket's entries in strictly ascending (bytewise) key order. Read twice: rewind() restarts it.
class EntrySource {
 public:
  virtual ~EntrySource() = default;
  virtual void rewind() = 0;
  // The next entry, or false at the end. The views stay valid until the next call.
  virtual bool next(std::string_view& key, std::string_view& value) = 0;
};

// An EntrySource over an in-memory list (small buckets: meta, members, cluster, ...).
class VectorSource final : public EntrySource {
 public:
  explicit VectorSource(std::vector<std::pair<std::string, std::string>> entries)
      : entries_(std::move(entries)) {}
  void rewind() override { at_ = 0; }
  bool next(std::string_view& key, std::string_view& value) override {
    if (at_ >= entries_.size()) return false;
    key = entries_[at_].first;
    value = entries_[at_].second;
    ++at_;
    return true;
  }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
  size_t at_ = 0;
};

struct BucketInput {
  std::string name;      // unique, non-empty; the writer sorts buckets by name
  EntrySource* source;   // not owned; must outlive the writer
};

// Receives the file's bytes in order, one or more whole pages per call.
using PageSink = std::function<void(std::string_view bytes)>;

struct WriterOptions {
  uint32_t page_size = default_page_size;  // a power of two, 1024..65536
  uint64_t txid = 1;
};

inline constexpr size_t max_key_bytes = 32768;                  // bbolt MaxKeySize
inline constexpr size_t max_value_bytes = (size_t{1} << 31) - 2;  // bbolt MaxValueSize

class TreeBuilder;

class StreamWriter {
 public:
  StreamWriter(std::vector<BucketInput> buckets, PageSink sink, WriterOptions options = {});
  ~StreamWriter();
  StreamWriter(const StreamWriter&) = delete;
  StreamWriter& operator=(const StreamWriter&) = delete;

  // Works until about `bytes_budget` bytes were read or written; true once the whole file is out.
  // Throws std::invalid_argument when a source breaks its contract (keys out of order, empty or too
  // large keys, different entries in the second pass).
  bool step(size_t bytes_budget);
  // Runs to the end.
  void run() { while (!step(SIZE_MAX / 2)) {} }

  bool done() const { return phase_ == Phase::done; }
  uint64_t bytes_written() const { return bytes_written_; }
  // Pages in the file (meta.pgid); known once planning finished, 0 before.
  pgid_t page_count() const { return page_count_; }

 private:
  enum class Phase { plan, head, write, done };
  struct Planned {
    pgid_t pages = 0;           // pages of its own tree (0 when inline)
    pgid_t root_offset = 0;     // root page, relative to the tree's first page
    std::string inline_page;    // the leaf page bytes when inline
    pgid_t first = 0;           // first page, once the layout is known
  };
  bool pull(size_t& budget);   // feeds entries of the current bucket to builder_; true at its end
  void finish_plan_of_bucket();
  void lay_out();
  void write_head();
  void finish_write_of_bucket();
  void end_pass();  // after the last bucket of a pass
  std::string bucket_value(const Planned& p) const;
  void emit(std::string_view bytes);

  std::vector<BucketInput> buckets_;
  PageSink sink_;
  WriterOptions options_;
  Phase phase_ = Phase::plan;
  size_t bucket_ = 0;                     // bucket being planned or written
  std::unique_ptr<TreeBuilder> builder_;  // the current bucket's tree
  std::vector<Planned> planned_;
  pgid_t page_count_ = 0;
  uint64_t bytes_written_ = 0;
  uint64_t entries_read_ = 0;             // in the current pass over the current bucket
  std::string last_key_;                  // order check
  PageSink write_sink_;                   // emit(), handed to the writing pass's builders
};

// Builds one B+tree bottom-up from entries in key order, emitting each page as it fills.
// With no sink it only counts pages (the planning pass).
class TreeBuilder {
 public:
  struct Result {
    pgid_t root = 0;
    pgid_t pages = 0;                    // pages written (or counted), overflow included
    std::optional<std::string> inline_page;  // set when the tree is one leaf that may be inlined
  };
  TreeBuilder(uint32_t page_size, pgid_t first_pgid, const PageSink* sink, bool allow_inline);
  ~TreeBuilder();
  void add(std::string_view key, std::string_view value, uint32_t flags);
  Result finish();

 private:
  struct Level;
  // Lays out a page of `l` into `out`: page id `id`, `span` pages (0: exact size, inline bucket).
  static void render(const Level& l, pgid_t id, size_t span, uint32_t page_size, std::string& out);
  void add_to(size_t level, std::string_view key, std::string_view value, uint32_t flags, pgid_t child);
  void flush(size_t level);
  uint32_t page_size_;
  pgid_t next_pgid_;
  pgid_t first_pgid_;
  const PageSink* sink_;
  bool allow_inline_;
  std::vector<std::unique_ptr<Level>> levels_;  // 0 = leaves
  std::string page_;                            // scratch for the page being emitted
};

}  // namespace ringkv::storage::bbolt
