// storage/bbolt/reader.h: a validating bbolt reader (format.h). It picks the valid meta page, lists
// the top-level buckets and visits a bucket's entries in key order, reading one page at a time from a
// ByteSource (a file through pread, or memory): memory use is one page per tree level, whatever the
// file's size. Every offset, length, page id and page type is checked against the file before use, so
// a corrupt or truncated file ends in format_error with what was wrong and where - never in a crash or
// an endless walk (tree depth is limited, keys must ascend).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/bbolt/format.h"

namespace ringkv::storage::bbolt {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual uint64_t size() const = 0;
  // Reads exactly n bytes at off (the caller checked off + n <= size()); throws format_error on a
  // read error.
  virtual void read(uint64_t off, size_t n, char* dst) const = 0;
};

class MemorySource final : public ByteSource {
 public:
  explicit MemorySource(std::string_view bytes) : bytes_(bytes) {}
  uint64_t size() const override { return bytes_.size(); }
  void read(uint64_t off, size_t n, char* dst) const override;

 private:
  std::string_view bytes_;
};

// A file read with pread; owns the descriptor.
class FileSource final : public ByteSource {
 public:
  explicit FileSource(const std::string& path);  // throws format_error when it cannot be opened
  ~FileSource() override;
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;
  uint64_t size() const override { return size_; }
  void read(uint64_t off, size_t n, char* dst) const override;

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

// A bucket as found in its parent: a root page, or an inline leaf page carried in the value.
struct BucketRef {
  std::string name;
  pgid_t root = 0;           // 0: inline
  std::string inline_page;   // the leaf page bytes when inline
};

inline constexpr size_t max_tree_depth = 64;

class Reader {
 public:
  // Reads and validates the meta pages of the database held in the first `db_bytes` bytes of `src`
  // (db_bytes < src.size() when a trailer follows, as in an etcd snapshot file).
  Reader(const ByteSource& src, uint64_t db_bytes);
  explicit Reader(const ByteSource& src) : Reader(src, src.size()) {}

  const Meta& meta() const { return meta_; }
  uint64_t db_bytes() const { return meta_.pgid * meta_.page_size; }  // what bbolt calls Tx.Size()

  // The top-level buckets in name order.
  std::vector<BucketRef> buckets() const;
  std::optional<BucketRef> bucket(std::string_view name) const;

  // Calls visit(key, value, flags) for each entry of the bucket in key order (flags & bucket_leaf_flag:
  // a nested bucket). The views are valid during the call only.
  using Visit = std::function<void(std::string_view key, std::string_view value, uint32_t flags)>;
  void for_each(const BucketRef& bucket, const Visit& visit) const;

 private:
  void walk(pgid_t id, size_t depth, std::string& last_key, bool& any, const Visit& visit) const;
  void visit_leaf(std::string_view page, std::string_view where, std::string& last_key, bool& any,
                  const Visit& visit) const;
  std::string read_page(pgid_t id) const;  // the page with its overflow pages, checked
  std::optional<Meta> read_meta(uint64_t off, uint32_t page_size_guess, std::string& why) const;

  const ByteSource& src_;
  uint64_t limit_;  // bytes of the database
  Meta meta_;
};

}  // namespace ringkv::storage::bbolt
