// storage/mvcc/export.cc: the store in revision order - RevisionCursor (every retained version, for
// writing etcd's `key` bucket), lease_records, and the Importer that rebuilds a store from records in
// revision order (reading etcd's backend). The key-ordered snapshot format stays in snapshot.cc.
#include <algorithm>
#include <stdexcept>

#include "storage/mvcc/store.h"

namespace ringkv::storage::mvcc {

MvccStore::RevisionCursor::RevisionCursor(const MvccStore& store)
    : store_(&store), epoch_(store.snapshot_epoch_), rev_(store.current_rev_), compact_rev_(store.compact_rev_) {
  assert(store.sub_ == 0);  // between entries, never inside a write txn
  ++store.snapshots_in_progress_;
  rewind();
}

MvccStore::RevisionCursor::RevisionCursor(RevisionCursor&& o) noexcept
    : store_(std::exchange(o.store_, nullptr)), epoch_(o.epoch_), rev_(o.rev_), compact_rev_(o.compact_rev_),
      window_(std::move(o.window_)), window_at_(o.window_at_), last_main_(o.last_main_), last_sub_(o.last_sub_),
      compacted_done_(o.compacted_done_), log_at_(o.log_at_) {}

MvccStore::RevisionCursor::~RevisionCursor() {
  if (store_ != nullptr) --store_->snapshots_in_progress_;
}

void MvccStore::RevisionCursor::rewind() {
  window_.clear();
  window_at_ = 0;
  last_main_ = -1;
  last_sub_ = -1;
  compacted_done_ = compact_rev_ <= 0;
  const auto& log = store_->log_;
  auto first = std::upper_bound(log.begin(), log.end(), compact_rev_,
                                [](revision_t r, const LogEntry& l) { return r < l.main; });
  log_at_ = static_cast<size_t>(first - log.begin());
}

// The next window_records versions at or below the compaction point after the last one handed out:
// one pass over the key table keeping the smallest candidates (bounded: trimmed at twice the window).
void MvccStore::RevisionCursor::fill_window() {
  auto less = [](const Slot& a, const Slot& b) { return a.main < b.main || (a.main == b.main && a.sub < b.sub); };
  window_.clear();
  window_at_ = 0;
  const MvccStore& s = *store_;
  for (key_id_t id = 0; id < s.keys_.id_limit(); ++id) {
    const KeyEntry& e = s.keys_[id];
    if (!e.in_use()) continue;
    int64_t i = e.find_at(compact_rev_);
    if (i < 0 || e.versions()[i].tombstone) continue;
    const Version& v = e.versions()[i];
    if (v.mod < last_main_ || (v.mod == last_main_ && static_cast<int64_t>(v.sub) <= last_sub_)) continue;
    window_.push_back(Slot{v.mod, v.sub, id});
    if (window_.size() >= 2 * window_records) {
      std::nth_element(window_.begin(), window_.begin() + window_records, window_.end(), less);
      window_.resize(window_records);
    }
  }
  std::sort(window_.begin(), window_.end(), less);
  if (window_.size() > window_records) window_.resize(window_records);
}

static MvccStore::RevisionRecord record_of(const KeyEntry& e, const Version& v) {
  MvccStore::RevisionRecord r;
  r.main = v.mod;
  r.sub = v.sub;
  r.tombstone = v.tombstone;
  r.kv.key = e.key();
  r.kv.mod_revision = v.mod;
  if (!v.tombstone) {
    r.kv.create_revision = v.create;
    r.kv.version = v.version;
    r.kv.value = v.value_view();
    r.kv.lease = v.lease;
  }
  return r;
}

bool MvccStore::RevisionCursor::next(RevisionRecord& out) {
  const MvccStore& s = *store_;
  if (s.snapshot_epoch_ != epoch_) throw std::logic_error("mvcc: the state was replaced during a revision scan");
  while (!compacted_done_) {
    if (window_at_ < window_.size()) {
      const Slot& slot = window_[window_at_++];
      const KeyEntry& e = s.keys_[slot.id];
      out = record_of(e, e.versions()[e.find_at(compact_rev_)]);
      last_main_ = slot.main;
      last_sub_ = slot.sub;
      return true;
    }
    fill_window();
    if (window_.empty()) compacted_done_ = true;
  }
  if (log_at_ >= s.log_.size()) return false;
  const LogEntry& l = s.log_[log_at_];
  if (l.main > rev_) return false;
  ++log_at_;
  const KeyEntry& e = s.keys_[l.id];
  auto vs = e.versions();
  auto it = std::lower_bound(vs.begin(), vs.end(), l, [](const Version& v, const LogEntry& x) { return v.before(x.main, x.sub); });
  assert(it != vs.end() && it->mod == l.main && it->sub == l.sub);
  out = record_of(e, *it);
  return true;
}

std::vector<MvccStore::LeaseRecord> MvccStore::lease_records() const {
  std::vector<LeaseRecord> out;
  out.reserve(leases_.size());
  for (const auto& [id, l] : leases_) out.push_back(LeaseRecord{id, l.ttl_s, l.remaining_ttl_s});
  std::sort(out.begin(), out.end(), [](const LeaseRecord& a, const LeaseRecord& b) { return a.id < b.id; });
  return out;
}

MvccStore::Importer::Importer(MvccStore& store) : s_(store) { s_.clear_state(); }

Errc MvccStore::Importer::lease(const LeaseRecord& l) {
  if (l.id == no_lease || s_.leases_.contains(l.id) || l.ttl_s > max_lease_ttl_s) {
    s_.clear_state();
    return Errc::snapshot_corrupt;
  }
  Lease& x = s_.leases_[l.id];
  x.ttl_s = l.ttl_s;
  x.remaining_ttl_s = l.remaining_ttl_s;
  s_.size_bytes_ += stored_lease_bytes;
  return Errc::ok;
}

Errc MvccStore::Importer::version(const RevisionRecord& r) {
  bool ordered = r.main > last_main_ || (r.main == last_main_ && r.sub > last_sub_);
  bool sane = r.main > 0 && r.sub >= 0 && r.sub < Version::sub_limit && !r.kv.key.empty() &&
              (r.tombstone || (r.kv.create_revision > 0 && r.kv.create_revision <= r.main && r.kv.version > 0));
  if (!ordered || !sane) {
    s_.clear_state();
    return Errc::snapshot_corrupt;
  }
  last_main_ = r.main;
  last_sub_ = r.sub;
  if (r.tombstone) {
    key_id_t id = s_.hash_.find(r.kv.key);
    if (id == no_key_id || !s_.live(s_.keys_[id])) return Errc::ok;  // etcd's restore skips these too
  }
  key_id_t id = s_.find_or_create(r.kv.key);
  Version v;
  v.mod = r.main;
  v.sub = static_cast<uint32_t>(r.sub);
  v.tombstone = r.tombstone ? 1 : 0;
  if (!r.tombstone) {
    v.create = r.kv.create_revision;
    v.version = r.kv.version;
    v.lease = r.kv.lease;
    v.set_value(r.kv.value);
  }
  s_.keys_[id].push_back(v);
  s_.size_bytes_ += static_cast<int64_t>(r.kv.key.size() + v.value_len) + stored_version_overhead_bytes;
  return Errc::ok;
}

Result<int64_t> MvccStore::Importer::finish(revision_t current, revision_t compact) {
  s_.current_rev_ = std::max({current, last_main_, compact, revision_t{1}});
  s_.compact_rev_ = compact;
  int64_t dangling = 0;
  for (key_id_t id = 0; id < s_.keys_.id_limit(); ++id) {
    KeyEntry& e = s_.keys_[id];
    if (!e.in_use() || !s_.live(e)) continue;
    Version& last = e.versions().back();
    if (last.lease != no_lease && !s_.leases_.contains(last.lease)) {
      last.lease = no_lease;
      ++dangling;
    }
  }
  s_.rebuild_derived();
  s_.compaction_pending_ = compact > 0;  // release what the compaction point already hides
  s_.compaction_cursor_ = 0;
  for (auto& [id, w] : s_.watchers_) s_.mark_ready(id, w);
  return dangling;
}

}  // namespace ringkv::storage::mvcc
