// storage/mvcc/hash_kv.cc: HashKV computed exactly as etcd 3.4 does (mvcc/kvstore.go HashByRev):
// crc32 (Castagnoli) over "key" then, in revision order, every backend record <= rev that etcd's
// backend would hold: its 17-byte revision key (8-byte big-endian main, '_', 8-byte big-endian sub,
// plus 't' for a tombstone) and its value, the protobuf encoding of mvccpb.KeyValue. Records at or
// below the compaction point count only when they are the ones a compaction at rev would keep.
// Matching etcd bit for bit lets the tests check our state against a real etcd.
#include <algorithm>
#include <string>

#include "storage/mvcc/backend_encoding.h"
#include "storage/mvcc/store.h"

namespace ringkv::storage::mvcc {
namespace {

struct Record {
  int64_t main;
  uint32_t sub;
  key_id_t id;
  uint32_t index;
};

}  // namespace

Result<HashKvResponse> MvccStore::hash_kv(revision_t rev) const {
  if (rev > 0 && rev <= compact_rev_) return Errc::compacted;
  if (rev > 0 && rev > current_rev_) return Errc::future_revision;
  if (rev == 0) rev = current_rev_;
  std::vector<Record> records;
  bool keep_empty = true;  // etcd quirk: with nothing to keep, older retained records all count
  for (key_id_t id = 0; id < keys_.id_limit(); ++id) {
    const KeyEntry& e = keys_[id];
    if (!e.in_use()) continue;
    int64_t at = e.find_at(rev);
    if (at >= 0 && !e.versions()[at].tombstone) keep_empty = false;
  }
  for (key_id_t id = 0; id < keys_.id_limit(); ++id) {
    const KeyEntry& e = keys_[id];
    if (!e.in_use()) continue;
    auto vs = e.versions();
    uint32_t first = compact_rev_ > 0 ? first_retained(e, compact_rev_) : 0;
    int64_t keep = e.find_at(rev);
    if (keep >= 0 && vs[keep].tombstone) keep = -1;
    for (uint32_t i = first; i < vs.size() && vs[i].mod <= rev; ++i) {
      if (vs[i].mod <= compact_rev_ && !keep_empty && static_cast<int64_t>(i) != keep) continue;
      records.push_back(Record{vs[i].mod, vs[i].sub, id, i});
    }
  }
  std::sort(records.begin(), records.end(),
            [](const Record& a, const Record& b) { return a.main < b.main || (a.main == b.main && a.sub < b.sub); });
  backend::Crc32c crc;
  crc.update("key");
  std::string buf;
  for (const Record& r : records) {
    const KeyEntry& e = keys_[r.id];
    const Version& v = e.versions()[r.index];
    buf.clear();
    backend::put_revision_key(buf, v.mod, v.sub, v.tombstone);
    if (v.tombstone) {
      backend::put_bytes_field(buf, 1, e.key());
    } else {
      backend::put_key_value(buf, e.key(), v.create, v.mod, v.version, v.value_view(), v.lease);
    }
    crc.update(buf);
  }
  return HashKvResponse{current_rev_, crc.sum(), compact_rev_};
}

}  // namespace ringkv::storage::mvcc
