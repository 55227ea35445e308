// storage/mvcc/hash_kv.cc: HashKV computed exactly as etcd 3.4 does (mvcc/kvstore.go HashByRev):
// crc32 (Castagnoli) over "key" then, in revision order, every backend record <= rev that etcd's
// backend would hold: its 17-byte revision key (8-byte big-endian main, '_', 8-byte big-endian sub,
// plus 't' for a tombstone) and its value, the protobuf encoding of mvccpb.KeyValue. Records at or
// below the compaction point count only when they are the ones a compaction at rev would keep.
// Matching etcd bit for bit lets the tests check our state against a real etcd.
#include <algorithm>
#include <array>
#include <string>

#include "storage/mvcc/store.h"

namespace ringkv::storage::mvcc {
namespace {

constexpr std::array<uint32_t, 256> make_crc32c_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto crc32c_table = make_crc32c_table();

class Crc32c {
 public:
  void update(std::string_view bytes) {
    for (unsigned char b : bytes) crc_ = crc32c_table[(crc_ ^ b) & 0xff] ^ (crc_ >> 8);
  }
  uint32_t sum() const { return ~crc_; }

 private:
  uint32_t crc_ = ~0u;
};

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_bytes_field(std::string& out, int field, std::string_view bytes) {
  if (bytes.empty()) return;
  put_varint(out, static_cast<uint64_t>(field) << 3 | 2);
  put_varint(out, bytes.size());
  out.append(bytes);
}

void put_int_field(std::string& out, int field, int64_t v) {
  if (v == 0) return;
  put_varint(out, static_cast<uint64_t>(field) << 3);
  put_varint(out, static_cast<uint64_t>(v));
}

void put_be64(std::string& out, int64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(static_cast<uint64_t>(v) >> shift));
}

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
  Crc32c crc;
  crc.update("key");
  std::string buf;
  for (const Record& r : records) {
    const KeyEntry& e = keys_[r.id];
    const Version& v = e.versions()[r.index];
    buf.clear();
    put_be64(buf, v.mod);
    buf.push_back('_');
    put_be64(buf, v.sub);
    if (v.tombstone) buf.push_back('t');
    put_bytes_field(buf, 1, e.key());
    if (!v.tombstone) {
      put_int_field(buf, 2, v.create);
      put_int_field(buf, 3, v.mod);
      put_int_field(buf, 4, v.version);
      put_bytes_field(buf, 5, v.value_view());
      put_int_field(buf, 6, v.lease);
    }
    crc.update(buf);
  }
  return HashKvResponse{current_rev_, crc.sum(), compact_rev_};
}

}  // namespace ringkv::storage::mvcc
