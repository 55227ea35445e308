// storage/etcd_snapshot/reader.cc: etcd 3.4 snapshot -> status / ringkv state (see reader.h).
#include "storage/etcd_snapshot/reader.h"

#include <openssl/evp.h>

#include <memory>

#include "storage/mvcc/backend_encoding.h"

namespace ringkv::storage::etcd_snapshot {
namespace {

[[noreturn]] void fail(const std::string& why) { throw snapshot_error("etcd snapshot: " + why); }

uint64_t db_limit(const bbolt::ByteSource& file) {
  return has_sha256_trailer(file.size()) ? file.size() - sha256_bytes : file.size();
}

std::string hex(std::string_view b) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

mvcc::revision_t compact_rev_of(const std::optional<bbolt::BucketRef>& meta, const bbolt::Reader& db,
                                std::string_view name) {
  mvcc::revision_t rev = -1;
  if (!meta) return rev;
  db.for_each(*meta, [&](std::string_view k, std::string_view v, uint32_t) {
    if (k != name) return;
    auto r = parse_revision_key(v);
    if (!r || r->tombstone) fail("meta bucket: bad " + std::string(name) + " value");
    rev = r->main;
  });
  return rev;
}

void read_cluster(const bbolt::Reader& db, ClusterState& c) {
  auto bucket = [&](std::string_view name) { return db.bucket(name); };
  if (auto b = bucket(members_bucket)) {
    db.for_each(*b, [&](std::string_view k, std::string_view v, uint32_t) {
      auto id = parse_member_key(k);
      if (!id) fail("members bucket: bad member id '" + std::string(k) + "'");
      Member m = parse_member_json(v);
      if (m.id != *id) fail("members bucket: member " + std::string(k) + " names id " + member_key(m.id));
      c.members.push_back(std::move(m));
    });
  }
  if (auto b = bucket(members_removed_bucket)) {
    db.for_each(*b, [&](std::string_view k, std::string_view, uint32_t) {
      auto id = parse_member_key(k);
      if (!id) fail("members_removed bucket: bad member id '" + std::string(k) + "'");
      c.removed_member_ids.push_back(*id);
    });
  }
  c.cluster_version.clear();
  if (auto b = bucket(cluster_bucket)) {
    db.for_each(*b, [&](std::string_view k, std::string_view v, uint32_t) {
      if (k == cluster_version_key) c.cluster_version.assign(v);
    });
  }
  if (auto b = bucket(meta_bucket)) {
    db.for_each(*b, [&](std::string_view k, std::string_view v, uint32_t) {
      if (k != consistent_index_key) return;
      auto ci = parse_be64(v);
      if (!ci) fail("meta bucket: consistent_index is not 8 bytes");
      c.consistent_index = *ci;
    });
  }
  if (auto b = bucket(auth_bucket)) {
    db.for_each(*b, [&](std::string_view k, std::string_view v, uint32_t) {
      if (k == auth_enabled_key) c.auth_enabled = v.size() == 1 && v[0] == 1;
      if (k == auth_revision_key) c.auth_revision = parse_be64(v).value_or(0);
    });
  }
  auto records = [&](std::string_view name, std::vector<std::pair<std::string, std::string>>& into) {
    if (auto b = bucket(name))
      db.for_each(*b, [&](std::string_view k, std::string_view v, uint32_t flags) {
        if (flags & bbolt::bucket_leaf_flag) fail(std::string(name) + " bucket holds a nested bucket");
        into.emplace_back(k, v);
      });
  };
  records(auth_users_bucket, c.auth_users);
  records(auth_roles_bucket, c.auth_roles);
}

LoadedSnapshot load_checked(const bbolt::ByteSource& file, mvcc::MvccStore& into, LoadOptions options);

}  // namespace

bool has_sha256_trailer(uint64_t file_bytes) { return file_bytes % trailer_alignment == sha256_bytes; }

bool verify_sha256_trailer(const bbolt::ByteSource& file) {
  if (!has_sha256_trailer(file.size())) return false;
  uint64_t db = file.size() - sha256_bytes;
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) fail("cannot start sha256");
  std::string buf(1 << 20, '\0');
  for (uint64_t at = 0; at < db;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), db - at));
    file.read(at, n, buf.data());
    EVP_DigestUpdate(ctx.get(), buf.data(), n);
    at += n;
  }
  unsigned char digest[sha256_bytes];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &len);
  char want[sha256_bytes];
  file.read(db, sha256_bytes, want);
  std::string_view got(reinterpret_cast<const char*>(digest), sha256_bytes);
  if (got != std::string_view(want, sha256_bytes))
    fail("sha256 mismatch: the file says " + hex(std::string_view(want, sha256_bytes)) + ", the data hashes to " + hex(got) +
         " (corrupt or truncated file)");
  return true;
}

SnapshotStatus snapshot_status(const bbolt::ByteSource& file) {
  bbolt::Reader db(file, db_limit(file));
  SnapshotStatus s;
  s.has_sha256 = has_sha256_trailer(file.size());
  s.total_size = db.db_bytes();
  mvcc::backend::Crc32c crc;
  for (const bbolt::BucketRef& b : db.buckets()) {
    crc.update(b.name);
    bool is_key = b.name == key_bucket;
    db.for_each(b, [&](std::string_view k, std::string_view v, uint32_t) {
      crc.update(k);
      crc.update(v);
      if (is_key) {
        if (k.size() < mvcc::backend::revision_key_bytes) fail("key bucket: bad revision key");
        s.revision = static_cast<int64_t>(mvcc::backend::load_be64(k.data()));
      }
      ++s.total_keys;
    });
  }
  s.hash = crc.sum();
  return s;
}

LoadedSnapshot load_snapshot(const bbolt::ByteSource& file, mvcc::MvccStore& into, LoadOptions options) {
  try {
    return load_checked(file, into, options);
  } catch (...) {
    mvcc::MvccStore::Importer reset(into);  // a failed load leaves the store empty
    throw;
  }
}

namespace {

LoadedSnapshot load_checked(const bbolt::ByteSource& file, mvcc::MvccStore& into, LoadOptions options) {
  if (!options.skip_hash_check) {
    if (!has_sha256_trailer(file.size())) fail("the file has no sha256 trailer (not a snapshot file? use --skip-hash-check for a bare db)");
    verify_sha256_trailer(file);
  }
  bbolt::Reader db(file, db_limit(file));
  LoadedSnapshot out;
  read_cluster(db, out.cluster);
  auto meta = db.bucket(meta_bucket);
  mvcc::revision_t finished = compact_rev_of(meta, db, finished_compact_key);
  mvcc::revision_t scheduled = compact_rev_of(meta, db, scheduled_compact_key);
  auto keys = db.bucket(key_bucket);
  if (!keys) fail("no `key` bucket (not an etcd v3 backend)");

  mvcc::MvccStore::Importer importer(into);
  auto check = [](mvcc::Errc e, const std::string& what) {
    if (e != mvcc::Errc::ok) fail(what);
  };
  {
    if (auto leases = db.bucket(lease_bucket)) {
      db.for_each(*leases, [&](std::string_view k, std::string_view v, uint32_t) {
        auto id = parse_be64(k);
        auto l = parse_lease_value(v);
        if (!id || !l || l->id != static_cast<int64_t>(*id)) fail("lease bucket: bad lease record");
        check(importer.lease({l->id, l->ttl_s, l->remaining_ttl_s}),
              "lease bucket: lease " + std::to_string(l->id) + " given twice or invalid");
        ++out.leases;
      });
    }
    mvcc::revision_t last = 0;
    db.for_each(*keys, [&](std::string_view k, std::string_view v, uint32_t) {
      auto rev = parse_revision_key(k);
      auto kv = parse_key_value(v);
      if (!rev || !kv) fail("key bucket: bad record at position " + std::to_string(out.key_records));
      mvcc::MvccStore::RevisionRecord r{rev->main, rev->sub, rev->tombstone, *kv};
      check(importer.version(r), "key bucket: inconsistent record at revision " + std::to_string(rev->main) + "_" +
                                     std::to_string(rev->sub));
      last = rev->main;
      ++out.key_records;
    });
    auto done = importer.finish(last, finished);
    check(done.error(), "cannot finish the import");
    out.unleased_keys = done.value();
  }
  if (scheduled > finished && scheduled <= into.current_revision()) (void)into.compact(scheduled);
  while (into.compaction_pending()) into.compaction_step();
  out.revision = into.current_revision();
  out.compact_revision = into.compact_revision();
  return out;
}

}  // namespace

}  // namespace ringkv::storage::etcd_snapshot
