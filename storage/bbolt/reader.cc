// storage/bbolt/reader.cc: the validating bbolt reader (see reader.h).
#include "storage/bbolt/reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ringkv::storage::bbolt {
namespace {

[[noreturn]] void fail(const std::string& why) { throw format_error("bbolt: " + why); }

std::string page_name(pgid_t id) { return "page " + std::to_string(id); }

}  // namespace

void MemorySource::read(uint64_t off, size_t n, char* dst) const {
  if (off > bytes_.size() || n > bytes_.size() - off) fail("read past the end of the data");
  std::memcpy(dst, bytes_.data() + off, n);
}

FileSource::FileSource(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw format_error(path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    int err = errno;
    ::close(fd_);
    throw format_error(path + ": " + std::strerror(err));
  }
  size_ = static_cast<uint64_t>(st.st_size);
}

FileSource::~FileSource() {
  if (fd_ >= 0) ::close(fd_);
}

void FileSource::read(uint64_t off, size_t n, char* dst) const {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd_, dst + done, n - done, static_cast<off_t>(off + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw format_error(path_ + ": read failed: " + std::strerror(errno));
    if (r == 0) throw format_error(path_ + ": file shrank while being read");
    done += static_cast<size_t>(r);
  }
}

std::optional<Meta> Reader::read_meta(uint64_t off, uint32_t page_size_guess, std::string& why) const {
  (void)page_size_guess;
  if (off + page_header_bytes + meta_bytes > limit_) {
    why = "file too short for a meta page";
    return std::nullopt;
  }
  char b[page_header_bytes + meta_bytes];
  src_.read(off, sizeof b, b);
  PageHeader h = read_page_header(b);
  const char* m = b + page_header_bytes;
  if (!(h.flags & meta_page_flag) || load_le<uint32_t>(m) != magic) {
    why = "not a bbolt file (no meta page magic)";
    return std::nullopt;
  }
  if (load_le<uint32_t>(m + 4) != format_version) {
    why = "unsupported bbolt version " + std::to_string(load_le<uint32_t>(m + 4));
    return std::nullopt;
  }
  uint64_t sum = load_le<uint64_t>(m + 56);
  if (sum != 0 && sum != fnv1a64(std::string_view(m, meta_checksummed_bytes))) {
    why = "meta page checksum mismatch";
    return std::nullopt;
  }
  Meta meta{load_le<uint32_t>(m + 8), load_le<uint32_t>(m + 12), load_le<uint64_t>(m + 16),
            load_le<uint64_t>(m + 24), load_le<uint64_t>(m + 32), load_le<uint64_t>(m + 40),
            load_le<uint64_t>(m + 48)};
  uint32_t ps = meta.page_size;
  if (ps < 512 || ps > 65536 || (ps & (ps - 1)) != 0) {
    why = "bad page size " + std::to_string(ps);
    return std::nullopt;
  }
  if (meta.pgid < 3 || meta.pgid > limit_ / ps) {
    why = "meta says " + std::to_string(meta.pgid) + " pages of " + std::to_string(ps) + " bytes but the file has " +
          std::to_string(limit_) + " bytes (truncated?)";
    return std::nullopt;
  }
  if (meta.root < 2 || meta.root >= meta.pgid || (meta.freelist != no_freelist && meta.freelist >= meta.pgid)) {
    why = "meta points outside the file (root " + std::to_string(meta.root) + ", freelist " +
          std::to_string(meta.freelist) + ", pages " + std::to_string(meta.pgid) + ")";
    return std::nullopt;
  }
  return meta;
}

Reader::Reader(const ByteSource& src, uint64_t db_bytes) : src_(src), limit_(std::min(db_bytes, src.size())) {
  std::string why0, why1;
  std::optional<Meta> m0 = read_meta(0, default_page_size, why0);
  uint32_t ps = m0 ? m0->page_size : default_page_size;
  std::optional<Meta> m1 = read_meta(ps, ps, why1);
  if (m1 && m0 && m1->page_size != m0->page_size) m1.reset();
  if (!m0 && !m1) fail("invalid database: " + why0 + (why1 == why0 ? "" : "; second meta: " + why1));
  meta_ = (m0 && (!m1 || m0->txid >= m1->txid)) ? *m0 : *m1;
}

std::string Reader::read_page(pgid_t id) const {
  const uint64_t ps = meta_.page_size;
  if (id < 2 || id >= meta_.pgid) fail(page_name(id) + " out of bounds (database has " + std::to_string(meta_.pgid) + " pages)");
  char hb[page_header_bytes];
  src_.read(id * ps, sizeof hb, hb);
  PageHeader h = read_page_header(hb);
  if (h.id != id) fail(page_name(id) + " has id " + std::to_string(h.id) + " in its header");
  if (uint64_t{h.overflow} >= meta_.pgid - id) fail(page_name(id) + " overflow runs past the end of the database");
  std::string page((uint64_t{h.overflow} + 1) * ps, '\0');
  src_.read(id * ps, page.size(), page.data());
  return page;
}

void Reader::visit_leaf(std::string_view page, std::string_view where, std::string& last_key, bool& any,
                        const Visit& visit) const {
  PageHeader h = read_page_header(page.data());
  if (page_header_bytes + uint64_t{h.count} * leaf_element_bytes > page.size())
    fail(std::string(where) + ": element count past the page end");
  for (uint32_t i = 0; i < h.count; ++i) {
    uint64_t at = page_header_bytes + uint64_t{i} * leaf_element_bytes;
    const char* e = page.data() + at;
    uint32_t flags = load_le<uint32_t>(e), pos = load_le<uint32_t>(e + 4);
    uint32_t ksize = load_le<uint32_t>(e + 8), vsize = load_le<uint32_t>(e + 12);
    uint64_t start = at + pos;
    if (start + ksize + vsize > page.size()) fail(std::string(where) + ": element " + std::to_string(i) + " past the page end");
    std::string_view key = page.substr(start, ksize), value = page.substr(start + ksize, vsize);
    if (any && !(std::string_view(last_key) < key)) fail(std::string(where) + ": keys out of order");
    last_key.assign(key);
    any = true;
    visit(key, value, flags);
  }
}

void Reader::walk(pgid_t id, size_t depth, std::string& last_key, bool& any, const Visit& visit) const {
  if (depth > max_tree_depth) fail("tree deeper than " + std::to_string(max_tree_depth) + " levels (cycle?) at " + page_name(id));
  std::string page = read_page(id);
  PageHeader h = read_page_header(page.data());
  if (h.flags & leaf_page_flag) {
    visit_leaf(page, page_name(id), last_key, any, visit);
    return;
  }
  if (!(h.flags & branch_page_flag)) fail(page_name(id) + " is neither a branch nor a leaf (flags " + std::to_string(h.flags) + ")");
  if (h.count == 0) fail(page_name(id) + ": empty branch page");
  if (page_header_bytes + uint64_t{h.count} * branch_element_bytes > page.size())
    fail(page_name(id) + ": element count past the page end");
  for (uint32_t i = 0; i < h.count; ++i) {
    const char* e = page.data() + page_header_bytes + uint64_t{i} * branch_element_bytes;
    uint64_t at = page_header_bytes + uint64_t{i} * branch_element_bytes + load_le<uint32_t>(e);
    if (at + load_le<uint32_t>(e + 4) > page.size()) fail(page_name(id) + ": branch key past the page end");
    walk(load_le<uint64_t>(e + 8), depth + 1, last_key, any, visit);
  }
}

void Reader::for_each(const BucketRef& bucket, const Visit& visit) const {
  std::string last_key;
  bool any = false;
  if (bucket.root != 0) {
    walk(bucket.root, 0, last_key, any, visit);
    return;
  }
  const std::string& p = bucket.inline_page;
  if (p.size() < page_header_bytes) fail("bucket '" + bucket.name + "': inline page too short");
  if (!(read_page_header(p.data()).flags & leaf_page_flag)) fail("bucket '" + bucket.name + "': inline page is not a leaf");
  visit_leaf(p, "bucket '" + bucket.name + "' (inline)", last_key, any, visit);
}

std::vector<BucketRef> Reader::buckets() const {
  std::vector<BucketRef> out;
  BucketRef root{"", meta_.root, {}};
  for_each(root, [&](std::string_view key, std::string_view value, uint32_t flags) {
    if (!(flags & bucket_leaf_flag)) fail("top-level entry '" + std::string(key) + "' is not a bucket");
    if (value.size() < bucket_header_bytes) fail("bucket '" + std::string(key) + "': value too short");
    BucketRef b{std::string(key), load_le<uint64_t>(value.data()), {}};
    if (b.root == 0) b.inline_page.assign(value.substr(bucket_header_bytes));
    out.push_back(std::move(b));
  });
  return out;
}

std::optional<BucketRef> Reader::bucket(std::string_view name) const {
  for (BucketRef& b : buckets()) {
    if (b.name == name) return std::move(b);
  }
  return std::nullopt;
}

}  // namespace ringkv::storage::bbolt
