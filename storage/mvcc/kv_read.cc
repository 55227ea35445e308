// storage/mvcc/kv_read.cc: Range, exactly as etcd's applier + mvcc rangeKeys: count over the whole
// range, limit + 1 fetched for `more`, min/max filters and sort applied after, keys_only, count_only.
#include <algorithm>

#include "storage/mvcc/store.h"

namespace ringkv::storage::mvcc {

MvccStore::MvccStore(StoreConfig config) : config_(config), hash_(keys_), order_(keys_) {}

Errc MvccStore::validate_range(const RangeRequest& r) {
  return r.key.empty() ? Errc::empty_key : Errc::ok;
}

KeyValueView MvccStore::view_of(const KeyEntry& e, const Version& v) const {
  assert(!v.tombstone);
  return KeyValueView{e.key(), v.create, v.mod, v.version, v.value_view(), v.lease};
}

void MvccStore::prefetch(std::span<const std::string_view> keys) const {
  uint32_t tags[prefetch_batch_limit];
  for (size_t base = 0; base < keys.size(); base += prefetch_batch_limit) {
    size_t n = std::min(prefetch_batch_limit, keys.size() - base);
    for (size_t i = 0; i < n; ++i) {
      tags[i] = HashIndex::tag_of(keys[base + i]);
      hash_.prefetch_slot(tags[i]);
    }
    key_id_t ids[prefetch_batch_limit];
    for (size_t i = 0; i < n; ++i) {
      ids[i] = hash_.peek(tags[i]);
      if (ids[i] != no_key_id) keys_[ids[i]].prefetch();
    }
    for (size_t i = 0; i < n; ++i) {  // the newest value, which a get or an overwrite reads next
      if (ids[i] == no_key_id || keys_[ids[i]].empty()) continue;
      if (const char* value = keys_[ids[i]].back().value_ptr) __builtin_prefetch(value);
    }
  }
}

Errc MvccStore::range_core(const RangeRequest& r, RangeViewResponse& out) const {
  Result<revision_t> read_at = range_read_revision(r);
  if (!read_at.ok()) return read_at.error();
  revision_t rev = read_at.value();
  out.header_revision = read_rev();
  if (r.count_only) {
    out.count = visit_range(r.key, r.range_end, rev, [](key_id_t, const KeyEntry&, const Version&) {});
    return Errc::ok;
  }
  bool fetch_all = r.sort_order != SortOrder::none || r.min_mod_revision != 0 || r.max_mod_revision != 0 ||
                   r.min_create_revision != 0 || r.max_create_revision != 0;
  size_t fetch = (!fetch_all && r.limit > 0) ? static_cast<size_t>(r.limit) + 1 : SIZE_MAX;
  out.count = visit_range(r.key, r.range_end, rev, [&](key_id_t, const KeyEntry& e, const Version& v) {
    if (out.kvs.size() < fetch) out.kvs.push_back(view_of(e, v));
  });
  auto prune = [&](auto drop) { std::erase_if(out.kvs, drop); };
  if (r.max_mod_revision != 0) prune([&](const KeyValueView& kv) { return kv.mod_revision > r.max_mod_revision; });
  if (r.min_mod_revision != 0) prune([&](const KeyValueView& kv) { return kv.mod_revision < r.min_mod_revision; });
  if (r.max_create_revision != 0)
    prune([&](const KeyValueView& kv) { return kv.create_revision > r.max_create_revision; });
  if (r.min_create_revision != 0)
    prune([&](const KeyValueView& kv) { return kv.create_revision < r.min_create_revision; });

  SortOrder order = r.sort_order;
  if (r.sort_target != SortTarget::key && order == SortOrder::none) order = SortOrder::ascend;
  if (order != SortOrder::none) {
    auto less = [&](const KeyValueView& a, const KeyValueView& b) {
      switch (r.sort_target) {
        case SortTarget::key: return a.key < b.key;
        case SortTarget::version: return a.version < b.version;
        case SortTarget::create: return a.create_revision < b.create_revision;
        case SortTarget::mod: return a.mod_revision < b.mod_revision;
        case SortTarget::value: return a.value < b.value;
      }
      return false;
    };
    if (order == SortOrder::ascend) {
      std::stable_sort(out.kvs.begin(), out.kvs.end(), less);
    } else {
      std::stable_sort(out.kvs.begin(), out.kvs.end(), [&](const auto& a, const auto& b) { return less(b, a); });
    }
  }
  if (r.limit > 0 && out.kvs.size() > static_cast<size_t>(r.limit)) {
    out.kvs.resize(static_cast<size_t>(r.limit));
    out.more = true;
  }
  if (r.keys_only) {
    for (auto& kv : out.kvs) kv.value = {};
  }
  return Errc::ok;
}

Result<revision_t> MvccStore::range_read_revision(const RangeRequest& r) const {
  if (Errc e = validate_range(r); e != Errc::ok) return e;
  revision_t cur = read_rev();
  revision_t rev = r.revision;
  if (rev > cur) return Errc::future_revision;
  if (rev <= 0) rev = cur;
  if (rev < compact_rev_) return Errc::compacted;
  return rev;
}

Result<RangeViewResponse> MvccStore::range_view(const RangeRequest& r) const {
  RangeViewResponse out;
  if (Errc e = range_core(r, out); e != Errc::ok) return e;
  return out;
}

Result<RangeResponse> MvccStore::range(const RangeRequest& r) const {
  RangeViewResponse views;
  if (Errc e = range_core(r, views); e != Errc::ok) return e;
  RangeResponse out;
  out.header_revision = views.header_revision;
  out.more = views.more;
  out.count = views.count;
  out.kvs.reserve(views.kvs.size());
  for (const auto& v : views.kvs) out.kvs.push_back(v.to_owned());
  return out;
}

}  // namespace ringkv::storage::mvcc
