// storage/mvcc/snapshot.cc: the whole logical state as one compact byte stream, and back.
//
// Format (integers little-endian, fixed width):
//   "RKVMVCC1" | u32 format_version (2) | i64 current_revision | i64 compact_revision
//   u64 lease_count | lease_count x { i64 id | i64 ttl_s | i64 remaining_ttl_s }
//   keys: { u32 key_len (> 0) | key | u32 version_count | version_count x version } ... | u32 0 (end)
//     version: i64 mod | u32 sub | u8 tombstone | if not tombstone: i64 create | i64 version | i64 lease
//              | u32 value_len | value
//   u64 xxh3_64 of every byte before it
// Format 1 (still read) had u64 key_count before the keys instead of the end marker; format 2 ends
// the list so a snapshot can be written a slice at a time without counting the keys first.
// Keys appear in ascending order, versions in revision order, and only what survives the compaction
// point (so the bytes do not depend on how far the incremental compaction has progressed).
// Lease expiry is local time and not part of the state (as in etcd).
#include <xxhash.h>

#include <cassert>
#include <cstring>
#include <new>
#include <unordered_set>
#include <utility>

#include "storage/mvcc/store.h"

namespace ringkv::storage::mvcc {
namespace {

constexpr std::string_view snapshot_magic = "RKVMVCC1";
constexpr uint32_t snapshot_format_counted_keys = 1;
constexpr uint32_t snapshot_format_version = 2;

template <class T>
void put_fixed(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.append(b, sizeof(T));
}

class SnapshotReader {
 public:
  explicit SnapshotReader(std::string_view b) : b_(b) {}
  template <class T>
  bool fixed(T& v) {
    if (b_.size() - pos_ < sizeof(T)) return false;
    std::memcpy(&v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool bytes(size_t n, std::string_view& out) {
    if (b_.size() - pos_ < n) return false;
    out = b_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool done() const { return pos_ == b_.size(); }

 private:
  std::string_view b_;
  size_t pos_ = 0;
};

}  // namespace

MvccStore::Snapshotter::Snapshotter(const MvccStore& store, std::string& out)
    : store_(&store),
      out_(&out),
      epoch_(store.snapshot_epoch_),
      rev_(store.current_rev_),
      compact_rev_(store.compact_rev_),
      hashed_to_(out.size()),
      hash_state_(XXH3_createState()) {
  assert(store.sub_ == 0);  // between entries, never inside a write txn
  if (hash_state_ == nullptr) throw std::bad_alloc();
  XXH3_64bits_reset(static_cast<XXH3_state_t*>(hash_state_));
  ++store.snapshots_in_progress_;
  out.append(snapshot_magic);
  put_fixed(out, snapshot_format_version);
  put_fixed<int64_t>(out, rev_);
  put_fixed<int64_t>(out, compact_rev_);
  put_fixed<uint64_t>(out, store.leases_.size());
  for (lease_id_t id : store.lease_list()) {
    const Lease& l = store.leases_.at(id);
    put_fixed<int64_t>(out, id);
    put_fixed<int64_t>(out, l.ttl_s);
    put_fixed<int64_t>(out, l.remaining_ttl_s);
  }
  hash_new_bytes();  // the caller may take these bytes away before the first step
}

MvccStore::Snapshotter::Snapshotter(Snapshotter&& other) noexcept
    : store_(std::exchange(other.store_, nullptr)),
      out_(other.out_),
      epoch_(other.epoch_),
      rev_(other.rev_),
      compact_rev_(other.compact_rev_),
      resume_after_(std::move(other.resume_after_)),
      hashed_to_(other.hashed_to_),
      hash_state_(std::exchange(other.hash_state_, nullptr)),
      finished_(other.finished_) {}

MvccStore::Snapshotter::~Snapshotter() {
  if (hash_state_ != nullptr) XXH3_freeState(static_cast<XXH3_state_t*>(hash_state_));
  if (store_ != nullptr && !finished_) --store_->snapshots_in_progress_;
}

void MvccStore::Snapshotter::hash_new_bytes() {
  assert(out_->size() >= hashed_to_);  // appended to since the last hashing (or emptied and reset)
  XXH3_64bits_update(static_cast<XXH3_state_t*>(hash_state_), out_->data() + hashed_to_, out_->size() - hashed_to_);
  hashed_to_ = out_->size();
}

MvccStore::SnapshotStep MvccStore::Snapshotter::step(size_t bytes_budget) {
  assert(store_ != nullptr && !finished_);
  if (out_->size() < hashed_to_) {  // the caller took the bytes written so far (all of them)
    assert(out_->empty());
    hashed_to_ = 0;
  }
  if (store_->snapshot_epoch_ != epoch_) {  // restore() replaced the state
    finished_ = true;
    --store_->snapshots_in_progress_;
    return SnapshotStep::abandoned;
  }
  std::string& out = *out_;
  const size_t stop_at = out.size() + bytes_budget;
  auto c = store_->order_.lower_bound(resume_after_);
  if (c.valid() && !resume_after_.empty() && store_->keys_[c.id()].key() == resume_after_) c.next();
  for (; c.valid(); c.next()) {
    const KeyEntry& e = store_->keys_[c.id()];
    auto vs = e.versions();
    uint32_t first = first_retained(e, compact_rev_);
    uint32_t end = first;
    while (end < vs.size() && vs[end].mod <= rev_) ++end;  // later versions: written after the beginning
    if (first >= end) continue;
    put_fixed<uint32_t>(out, static_cast<uint32_t>(e.key().size()));
    out.append(e.key());
    put_fixed<uint32_t>(out, end - first);
    for (uint32_t i = first; i < end; ++i) {
      const Version& v = vs[i];
      put_fixed<int64_t>(out, v.mod);
      put_fixed<uint32_t>(out, v.sub);
      put_fixed<uint8_t>(out, static_cast<uint8_t>(v.tombstone));
      if (v.tombstone) continue;
      put_fixed<int64_t>(out, v.create);
      put_fixed<int64_t>(out, v.version);
      put_fixed<int64_t>(out, v.lease);
      std::string_view value = v.value_view();
      put_fixed<uint32_t>(out, static_cast<uint32_t>(value.size()));
      out.append(value);
    }
    if (out.size() >= stop_at) {
      resume_after_.assign(e.key());
      hash_new_bytes();
      return SnapshotStep::more;
    }
  }
  put_fixed<uint32_t>(out, 0);  // end of keys
  hash_new_bytes();
  put_fixed<uint64_t>(out, XXH3_64bits_digest(static_cast<XXH3_state_t*>(hash_state_)));
  finished_ = true;
  --store_->snapshots_in_progress_;
  return SnapshotStep::done;
}

MvccStore::Snapshotter MvccStore::begin_snapshot(std::string& out) const { return Snapshotter(*this, out); }

std::string MvccStore::snapshot() const {
  std::string out;
  [[maybe_unused]] SnapshotStep step = begin_snapshot(out).step(Snapshotter::whole_state);
  assert(step == SnapshotStep::done);
  return out;
}

// Parses and validates `body` (the snapshot without its checksum), calling build.header(cur, compact),
// build.lease(id, ttl, remaining), build.key(key), build.version(v, value) in stream order.
template <class Build>
Errc MvccStore::parse_snapshot(std::string_view body, Build&& build) {
  SnapshotReader r(body);
  std::string_view magic;
  uint32_t format = 0;
  int64_t cur = 0, compact = 0;
  uint64_t lease_count = 0, key_count = 0;
  if (!r.bytes(snapshot_magic.size(), magic) || magic != snapshot_magic) return Errc::snapshot_corrupt;
  if (!r.fixed(format) || (format != snapshot_format_version && format != snapshot_format_counted_keys)) {
    return Errc::snapshot_corrupt;
  }
  if (!r.fixed(cur) || !r.fixed(compact) || cur < 1 || compact < -1 || compact > cur) return Errc::snapshot_corrupt;
  build.header(cur, compact);
  if (!r.fixed(lease_count)) return Errc::snapshot_corrupt;
  std::unordered_set<lease_id_t> lease_ids;
  for (uint64_t i = 0; i < lease_count; ++i) {
    int64_t id, ttl, remaining;
    if (!r.fixed(id) || !r.fixed(ttl) || !r.fixed(remaining)) return Errc::snapshot_corrupt;
    if (id == no_lease || ttl < 0 || !lease_ids.insert(id).second) return Errc::snapshot_corrupt;
    build.lease(id, ttl, remaining);
  }
  const bool counted = format == snapshot_format_counted_keys;
  if (counted && !r.fixed(key_count)) return Errc::snapshot_corrupt;
  std::string_view prev_key;
  for (uint64_t k = 0; !counted || k < key_count; ++k) {
    uint32_t key_len = 0, count = 0;
    std::string_view key;
    if (!r.fixed(key_len)) return Errc::snapshot_corrupt;
    if (key_len == 0 && !counted) break;  // end of keys
    if (key_len == 0 || !r.bytes(key_len, key)) return Errc::snapshot_corrupt;
    if (k > 0 && !(prev_key < key)) return Errc::snapshot_corrupt;
    prev_key = key;
    if (!r.fixed(count) || count == 0) return Errc::snapshot_corrupt;
    build.key(key);
    Version last;
    for (uint32_t i = 0; i < count; ++i) {
      Version v;
      uint8_t tomb = 0;
      uint32_t sub = 0;
      std::string_view value;
      if (!r.fixed(v.mod) || !r.fixed(sub) || !r.fixed(tomb) || tomb > 1 || sub >= Version::sub_limit) {
        return Errc::snapshot_corrupt;
      }
      v.sub = sub;
      v.tombstone = tomb;
      if (!tomb) {
        uint32_t value_len = 0;
        if (!r.fixed(v.create) || !r.fixed(v.version) || !r.fixed(v.lease) || !r.fixed(value_len) ||
            !r.bytes(value_len, value)) {
          return Errc::snapshot_corrupt;
        }
        if (v.create < 1 || v.create > v.mod || v.version < 1) return Errc::snapshot_corrupt;
      }
      if (v.mod < 1 || v.mod > cur || (i > 0 && !last.before(v.mod, v.sub))) return Errc::snapshot_corrupt;
      last = v;
      build.version(v, value);
    }
    if (!last.tombstone && last.lease != no_lease && !lease_ids.contains(last.lease)) return Errc::snapshot_corrupt;
  }
  if (!r.done()) return Errc::snapshot_corrupt;
  return Errc::ok;
}

void MvccStore::clear_state() {
  ++snapshot_epoch_;  // snapshots in progress described the state being replaced
  order_.clear();
  hash_.clear();
  keys_.clear();
  log_.clear();
  leases_.clear();
  current_rev_ = 1;
  compact_rev_ = -1;
  sub_ = 0;
  compaction_pending_ = false;
  compaction_cursor_ = 0;
  size_bytes_ = 0;
}

void MvccStore::rebuild_derived() {
  std::vector<LogEntry> log;
  for (key_id_t id = 0; id < keys_.id_limit(); ++id) {
    const KeyEntry& e = keys_[id];
    for (const Version& v : e.versions()) {
      if (v.mod >= compact_rev_) log.push_back(LogEntry{v.mod, v.sub, id});
    }
    if (live(e) && e.back().lease != no_lease) lease_attach(e.back().lease, id);
  }
  std::sort(log.begin(), log.end(),
            [](const LogEntry& a, const LogEntry& b) { return a.main < b.main || (a.main == b.main && a.sub < b.sub); });
  log_.assign(log.begin(), log.end());
}

Errc MvccStore::check_snapshot(std::string_view bytes) {
  if (bytes.size() < sizeof(uint64_t)) return Errc::snapshot_corrupt;
  std::string_view body = bytes.substr(0, bytes.size() - sizeof(uint64_t));
  uint64_t sum = 0;
  std::memcpy(&sum, bytes.data() + body.size(), sizeof sum);
  if (XXH3_64bits(body.data(), body.size()) != sum) return Errc::snapshot_corrupt;
  struct DryRun {
    void header(int64_t, int64_t) {}
    void lease(int64_t, int64_t, int64_t) {}
    void key(std::string_view) {}
    void version(const Version&, std::string_view) {}
  };
  return parse_snapshot(body, DryRun{});
}

Errc MvccStore::restore(std::string_view bytes) {
  if (Errc e = check_snapshot(bytes); e != Errc::ok) return e;
  std::string_view body = bytes.substr(0, bytes.size() - sizeof(uint64_t));

  clear_state();
  struct Loader {
    MvccStore& s;
    key_id_t id = no_key_id;
    void header(int64_t cur, int64_t compact) {
      s.current_rev_ = cur;
      s.compact_rev_ = compact;
    }
    void lease(int64_t id_, int64_t ttl, int64_t remaining) {
      Lease& l = s.leases_[id_];
      l.ttl_s = ttl;
      l.remaining_ttl_s = remaining;
      s.size_bytes_ += stored_lease_bytes;
    }
    void key(std::string_view k) {
      id = s.keys_.allocate(k);
      s.hash_.insert(HashIndex::tag_of(k), id);
      s.order_.insert(k, id);
    }
    void version(Version v, std::string_view value) {
      v.set_value(value);
      s.keys_[id].push_back(v);
      s.size_bytes_ += static_cast<int64_t>(s.keys_[id].key().size() + value.size()) + stored_version_overhead_bytes;
    }
  };
  Errc e = parse_snapshot(body, Loader{*this});
  assert(e == Errc::ok);
  rebuild_derived();
  // Lease expiries restart as "forever": a leader calls lease_promote(now, extend) after a restore.
  for (auto& [id, w] : watchers_) mark_ready(id, w);
  return e;
}

}  // namespace ringkv::storage::mvcc
