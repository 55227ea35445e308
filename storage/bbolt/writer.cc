// storage/bbolt/writer.cc: the streaming bbolt writer (see writer.h for the layout and the two passes).
#include "storage/bbolt/writer.h"

#include <algorithm>
#include <stdexcept>

namespace ringkv::storage::bbolt {

// One level of the tree being built: the entries of the page it is filling.
struct TreeBuilder::Level {
  struct Elem {
    uint32_t flags = 0;
    uint32_t ksize = 0;
    uint32_t vsize = 0;  // leaves only
    pgid_t child = 0;    // branches only
  };
  explicit Level(bool leaf_) : leaf(leaf_) {}
  size_t bytes() const { return page_header_bytes + elems.size() * leaf_element_bytes + data.size(); }
  bool leaf;
  std::vector<Elem> elems;
  std::string data;          // keys (and, in leaves, values) back to back
  pgid_t pages_flushed = 0;  // pages this level has emitted
};

TreeBuilder::TreeBuilder(uint32_t page_size, pgid_t first_pgid, const PageSink* sink, bool allow_inline)
    : page_size_(page_size), next_pgid_(first_pgid), first_pgid_(first_pgid), sink_(sink),
      allow_inline_(allow_inline) {
  levels_.push_back(std::make_unique<Level>(true));
}

TreeBuilder::~TreeBuilder() = default;

void TreeBuilder::add(std::string_view key, std::string_view value, uint32_t flags) {
  if (flags & bucket_leaf_flag) allow_inline_ = false;  // bbolt never inlines a bucket holding buckets
  add_to(0, key, value, flags, 0);
}

void TreeBuilder::add_to(size_t level, std::string_view key, std::string_view value, uint32_t flags,
                         pgid_t child) {
  if (level == levels_.size()) levels_.push_back(std::make_unique<Level>(false));
  Level& l = *levels_[level];
  size_t add_bytes = leaf_element_bytes + key.size() + (l.leaf ? value.size() : 0);
  if (!l.elems.empty() && l.bytes() + add_bytes > page_size_) flush(level);
  l.elems.push_back(Level::Elem{flags, static_cast<uint32_t>(key.size()),
                                l.leaf ? static_cast<uint32_t>(value.size()) : 0u, child});
  l.data.append(key);
  if (l.leaf) l.data.append(value);
}

void TreeBuilder::flush(size_t level) {
  Level& l = *levels_[level];
  size_t span = (l.bytes() + page_size_ - 1) / page_size_;
  pgid_t id = next_pgid_;
  next_pgid_ += span;
  if (sink_ != nullptr) {
    render(l, id, span, page_size_, page_);
    (*sink_)(page_);
  }
  ++l.pages_flushed;
  std::string first_key = l.elems.empty() ? std::string() : l.data.substr(0, l.elems[0].ksize);
  l.elems.clear();
  l.data.clear();
  if (!first_key.empty()) add_to(level + 1, first_key, {}, 0, id);
}

void TreeBuilder::render(const Level& l, pgid_t id, size_t span, uint32_t page_size, std::string& out) {
  size_t bytes = l.bytes();
  out.assign(span == 0 ? bytes : span * page_size, '\0');
  write_page_header(out.data(), PageHeader{id, l.leaf ? leaf_page_flag : branch_page_flag,
                                           static_cast<uint16_t>(l.elems.size()),
                                           static_cast<uint32_t>(span == 0 ? 0 : span - 1)});
  size_t data_at = page_header_bytes + l.elems.size() * leaf_element_bytes;
  std::memcpy(out.data() + data_at, l.data.data(), l.data.size());
  for (size_t i = 0; i < l.elems.size(); ++i) {
    const auto& e = l.elems[i];
    char* at = out.data() + page_header_bytes + i * leaf_element_bytes;
    auto pos = static_cast<uint32_t>(data_at - (page_header_bytes + i * leaf_element_bytes));
    if (l.leaf) {
      store_le(at, e.flags);
      store_le(at + 4, pos);
      store_le(at + 8, e.ksize);
      store_le(at + 12, e.vsize);
      data_at += e.ksize + e.vsize;
    } else {
      store_le(at, pos);
      store_le(at + 4, e.ksize);
      store_le(at + 8, e.child);
      data_at += e.ksize;
    }
  }
}

TreeBuilder::Result TreeBuilder::finish() {
  Level& leaves = *levels_[0];
  if (allow_inline_ && levels_.size() == 1 && leaves.pages_flushed == 0 &&
      leaves.bytes() <= max_inline_bucket_bytes(page_size_)) {
    Result r;
    r.inline_page.emplace();
    render(leaves, 0, 0, page_size_, *r.inline_page);
    return r;
  }
  if (leaves.elems.empty() && leaves.pages_flushed == 0) {  // an empty tree: one empty leaf
    pgid_t id = next_pgid_;
    flush(0);
    return Result{id, next_pgid_ - first_pgid_, std::nullopt};
  }
  for (size_t k = 0;; ++k) {
    if (!levels_[k]->elems.empty()) flush(k);
    Level& parent = *levels_[k + 1];  // exists: level k has emitted at least one page
    if (parent.pages_flushed == 0 && parent.elems.size() == 1) {
      return Result{parent.elems[0].child, next_pgid_ - first_pgid_, std::nullopt};
    }
  }
}

StreamWriter::StreamWriter(std::vector<BucketInput> buckets, PageSink sink, WriterOptions options)
    : buckets_(std::move(buckets)), sink_(std::move(sink)), options_(options) {
  uint32_t ps = options_.page_size;
  if (ps < 1024 || ps > 65536 || (ps & (ps - 1)) != 0) throw std::invalid_argument("bbolt: bad page size");
  std::sort(buckets_.begin(), buckets_.end(), [](const BucketInput& a, const BucketInput& b) { return a.name < b.name; });
  for (size_t i = 0; i < buckets_.size(); ++i) {
    if (buckets_[i].name.empty() || buckets_[i].name.size() > max_key_bytes || buckets_[i].source == nullptr)
      throw std::invalid_argument("bbolt: bucket without a name or source");
    if (i > 0 && buckets_[i].name == buckets_[i - 1].name)
      throw std::invalid_argument("bbolt: bucket '" + buckets_[i].name + "' given twice");
  }
  planned_.resize(buckets_.size());
  write_sink_ = [this](std::string_view b) { emit(b); };
}

StreamWriter::~StreamWriter() = default;

void StreamWriter::emit(std::string_view bytes) {
  bytes_written_ += bytes.size();
  sink_(bytes);
}

bool StreamWriter::pull(size_t& budget) {
  EntrySource& src = *buckets_[bucket_].source;
  std::string_view key, value;
  while (budget > 0) {
    if (!src.next(key, value)) return true;
    if (key.empty() || key.size() > max_key_bytes || value.size() > max_value_bytes)
      throw std::invalid_argument("bbolt: bucket '" + buckets_[bucket_].name + "': empty or too large key or value");
    if (entries_read_ > 0 && !(std::string_view(last_key_) < key))
      throw std::invalid_argument("bbolt: bucket '" + buckets_[bucket_].name + "': keys not in ascending order");
    last_key_.assign(key);
    ++entries_read_;
    builder_->add(key, value, 0);
    budget -= std::min(budget, key.size() + value.size() + leaf_element_bytes);
  }
  return false;
}

std::string StreamWriter::bucket_value(const Planned& p) const {
  std::string v(bucket_header_bytes, '\0');
  if (!p.inline_page.empty()) {
    v += p.inline_page;
  } else {
    store_le<uint64_t>(v.data(), p.first + p.root_offset);
  }
  return v;
}

void StreamWriter::finish_plan_of_bucket() {
  TreeBuilder::Result r = builder_->finish();
  Planned& p = planned_[bucket_];
  if (r.inline_page) {
    p.inline_page = std::move(*r.inline_page);
  } else {
    p.pages = r.pages;
    p.root_offset = r.root;
  }
  builder_.reset();
}

void StreamWriter::lay_out() {
  // The root bucket's size does not depend on the page numbers in its values: plan it first.
  constexpr pgid_t root_tree_first = 3;
  TreeBuilder root(options_.page_size, root_tree_first, nullptr, false);
  for (size_t i = 0; i < buckets_.size(); ++i) root.add(buckets_[i].name, bucket_value(planned_[i]), bucket_leaf_flag);
  TreeBuilder::Result r = root.finish();
  pgid_t next = root_tree_first + r.pages;
  for (Planned& p : planned_) {
    if (!p.inline_page.empty()) continue;
    p.first = next;
    next += p.pages;
  }
  page_count_ = next;
}

void StreamWriter::write_head() {
  constexpr pgid_t root_tree_first = 3;
  const uint32_t ps = options_.page_size;
  // Build the root tree into memory first: its root page goes into the meta.
  std::string root_pages;
  PageSink collect = [&](std::string_view b) { root_pages.append(b); };
  TreeBuilder root(ps, root_tree_first, &collect, false);
  for (size_t i = 0; i < buckets_.size(); ++i) root.add(buckets_[i].name, bucket_value(planned_[i]), bucket_leaf_flag);
  TreeBuilder::Result r = root.finish();

  std::string page(ps, '\0');
  Meta m{ps, 0, r.root, 0, /*freelist=*/2, page_count_, options_.txid};
  for (pgid_t id = 0; id < 2; ++id) {
    std::fill(page.begin(), page.end(), '\0');
    write_page_header(page.data(), PageHeader{id, meta_page_flag, 0, 0});
    write_meta(page.data() + page_header_bytes, m);
    emit(page);
  }
  std::fill(page.begin(), page.end(), '\0');
  write_page_header(page.data(), PageHeader{2, freelist_page_flag, 0, 0});
  emit(page);
  emit(root_pages);
}

void StreamWriter::finish_write_of_bucket() {
  TreeBuilder::Result r = builder_->finish();
  const Planned& p = planned_[bucket_];
  if (r.pages != p.pages || r.root != p.first + p.root_offset)
    throw std::invalid_argument("bbolt: bucket '" + buckets_[bucket_].name + "' changed between the two passes");
  builder_.reset();
}

void StreamWriter::end_pass() {
  if (phase_ == Phase::plan) {
    lay_out();
    phase_ = Phase::head;
    return;
  }
  if (bytes_written_ != page_count_ * options_.page_size)
    throw std::logic_error("bbolt: wrote a different number of pages than planned");
  phase_ = Phase::done;
}

bool StreamWriter::step(size_t bytes_budget) {
  size_t budget = std::max<size_t>(bytes_budget, 1);
  uint64_t written_before = bytes_written_;
  auto spent = [&] { return bytes_written_ - written_before >= bytes_budget || budget == 0; };
  while (!spent()) {
    if (phase_ == Phase::done) return true;
    if (phase_ == Phase::head) {
      write_head();
      phase_ = Phase::write;
      bucket_ = 0;
      continue;
    }
    // Phase::plan or Phase::write: the same walk over the buckets, counting or emitting.
    bool writing = phase_ == Phase::write;
    if (bucket_ == buckets_.size()) {
      end_pass();
    } else if (writing && !planned_[bucket_].inline_page.empty()) {
      ++bucket_;  // written inside the root bucket's page
    } else {
      if (!builder_) {
        builder_ = writing ? std::make_unique<TreeBuilder>(options_.page_size, planned_[bucket_].first, &write_sink_, false)
                           : std::make_unique<TreeBuilder>(options_.page_size, 0, nullptr, true);
        buckets_[bucket_].source->rewind();
        entries_read_ = 0;
      }
      if (pull(budget)) {
        writing ? finish_write_of_bucket() : finish_plan_of_bucket();
        ++bucket_;
      }
    }
  }
  return phase_ == Phase::done;
}

}  // namespace ringkv::storage::bbolt
