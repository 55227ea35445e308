// storage/mvcc/snapshot.cc: the whole logical state as one compact byte stream, and back.
//
// Format (integers little-endian, fixed width):
//   "RKVMVCC1" | u32 format_version (1) | i64 current_revision | i64 compact_revision
//   u64 lease_count | lease_count x { i64 id | i64 ttl_s | i64 remaining_ttl_s }
//   u64 key_count   | key_count x { u32 key_len | key | u32 version_count | version_count x version }
//     version: i64 mod | u32 sub | u8 tombstone | if not tombstone: i64 create | i64 version | i64 lease
//              | u32 value_len | value
//   u64 xxh3_64 of every byte before it
// Keys appear in ascending order, versions in revision order, and only what survives the compaction
// point (so the bytes do not depend on how far the incremental compaction has progressed).
// Lease expiry is local time and not part of the state (as in etcd).
#include <xxhash.h>

#include <cstring>
#include <unordered_set>

#include "storage/mvcc/store.h"

namespace ringkv::storage::mvcc {
namespace {

constexpr std::string_view snapshot_magic = "RKVMVCC1";
constexpr uint32_t snapshot_format_version = 1;
constexpr size_t snapshot_flush_bytes = 1 << 20;

class SnapshotWriter {
 public:
  explicit SnapshotWriter(const std::function<void(std::string_view)>& sink) : sink_(sink) {
    state_ = XXH3_createState();
    XXH3_64bits_reset(state_);
  }
  ~SnapshotWriter() { XXH3_freeState(state_); }
  template <class T>
  void fixed(T v) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    bytes({b, sizeof(T)});
  }
  void bytes(std::string_view b) {
    buf_.append(b);
    if (buf_.size() >= snapshot_flush_bytes) flush();
  }
  void finish() {
    flush();
    uint64_t sum = XXH3_64bits_digest(state_);
    fixed(sum);
    sink_(buf_);
    buf_.clear();
  }

 private:
  void flush() {
    XXH3_64bits_update(state_, buf_.data(), buf_.size());
    sink_(buf_);
    buf_.clear();
  }
  const std::function<void(std::string_view)>& sink_;
  XXH3_state_t* state_;
  std::string buf_;
};

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

void MvccStore::snapshot(const std::function<void(std::string_view)>& sink) const {
  SnapshotWriter w(sink);
  w.bytes(snapshot_magic);
  w.fixed(snapshot_format_version);
  w.fixed<int64_t>(current_rev_);
  w.fixed<int64_t>(compact_rev_);
  w.fixed<uint64_t>(leases_.size());
  for (lease_id_t id : lease_list()) {
    const Lease& l = leases_.at(id);
    w.fixed<int64_t>(id);
    w.fixed<int64_t>(l.ttl_s);
    w.fixed<int64_t>(l.remaining_ttl_s);
  }
  uint64_t key_count = 0;
  for (auto c = order_.begin(); c.valid(); c.next()) {
    const KeyEntry& e = keys_[c.id()];
    if (first_retained(e, compact_rev_) < e.versions().size()) ++key_count;
  }
  w.fixed<uint64_t>(key_count);
  for (auto c = order_.begin(); c.valid(); c.next()) {
    const KeyEntry& e = keys_[c.id()];
    uint32_t first = first_retained(e, compact_rev_);
    auto vs = e.versions();
    if (first >= vs.size()) continue;
    w.fixed<uint32_t>(static_cast<uint32_t>(e.key().size()));
    w.bytes(e.key());
    w.fixed<uint32_t>(static_cast<uint32_t>(vs.size() - first));
    for (uint32_t i = first; i < vs.size(); ++i) {
      const Version& v = vs[i];
      w.fixed<int64_t>(v.mod);
      w.fixed<uint32_t>(v.sub);
      w.fixed<uint8_t>(static_cast<uint8_t>(v.tombstone));
      if (v.tombstone) continue;
      w.fixed<int64_t>(v.create);
      w.fixed<int64_t>(v.version);
      w.fixed<int64_t>(v.lease);
      std::string_view value = v.value_view();
      w.fixed<uint32_t>(static_cast<uint32_t>(value.size()));
      w.bytes(value);
    }
  }
  w.finish();
}

std::string MvccStore::snapshot() const {
  std::string out;
  snapshot([&](std::string_view chunk) { out.append(chunk); });
  return out;
}

// Parses and validates `body` (the snapshot without its checksum), calling build.header(cur, compact),
// build.lease(id, ttl, remaining), build.key(key), build.version(v, value) in stream order.
template <class Build>
Errc MvccStore::parse_snapshot(std::string_view body, Build&& build) const {
  SnapshotReader r(body);
  std::string_view magic;
  uint32_t format = 0;
  int64_t cur = 0, compact = 0;
  uint64_t lease_count = 0, key_count = 0;
  if (!r.bytes(snapshot_magic.size(), magic) || magic != snapshot_magic) return Errc::snapshot_corrupt;
  if (!r.fixed(format) || format != snapshot_format_version) return Errc::snapshot_corrupt;
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
  if (!r.fixed(key_count)) return Errc::snapshot_corrupt;
  std::string_view prev_key;
  for (uint64_t k = 0; k < key_count; ++k) {
    uint32_t key_len = 0, count = 0;
    std::string_view key;
    if (!r.fixed(key_len) || key_len == 0 || !r.bytes(key_len, key)) return Errc::snapshot_corrupt;
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

Errc MvccStore::restore(std::string_view bytes) {
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
  if (Errc e = parse_snapshot(body, DryRun{}); e != Errc::ok) return e;

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
