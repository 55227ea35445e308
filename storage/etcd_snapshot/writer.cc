// storage/etcd_snapshot/writer.cc: ringkv's state as etcd 3.4's snapshot file (see writer.h).
#include "storage/etcd_snapshot/writer.h"

#include <openssl/evp.h>

#include <algorithm>
#include <new>

#include "storage/mvcc/backend_encoding.h"

namespace ringkv::storage::etcd_snapshot {
namespace backend = mvcc::backend;

// The `key` bucket: every retained version in revision order, encoded as etcd's backend holds it.
class SnapshotWriter::KeySource final : public bbolt::EntrySource {
 public:
  explicit KeySource(const mvcc::MvccStore& store) : cursor_(store.scan_revisions()) {}
  void rewind() override { cursor_.rewind(); }
  bool next(std::string_view& key, std::string_view& value) override {
    mvcc::MvccStore::RevisionRecord r;
    if (!cursor_.next(r)) return false;
    key_.clear();
    backend::put_revision_key(key_, r.main, r.sub, r.tombstone);
    value_.clear();
    if (r.tombstone) {
      backend::put_bytes_field(value_, 1, r.kv.key);
    } else {
      backend::put_key_value(value_, r.kv.key, r.kv.create_revision, r.kv.mod_revision, r.kv.version, r.kv.value,
                             r.kv.lease);
    }
    key = key_;
    value = value_;
    return true;
  }
  const mvcc::MvccStore::RevisionCursor& cursor() const { return cursor_; }

 private:
  mvcc::MvccStore::RevisionCursor cursor_;
  std::string key_, value_;
};

namespace {

using Entries = std::vector<std::pair<std::string, std::string>>;

Entries sorted(Entries e) {
  std::sort(e.begin(), e.end());
  return e;
}

Entries meta_entries(const ClusterState& c, mvcc::revision_t compact) {
  Entries e{{std::string(consistent_index_key), be64(c.consistent_index)}};
  if (compact > 0) {
    std::string rev;
    backend::put_revision_key(rev, compact, 0, false);
    e.emplace_back(std::string(finished_compact_key), rev);
    e.emplace_back(std::string(scheduled_compact_key), rev);
  }
  return sorted(std::move(e));
}

Entries lease_entries(const mvcc::MvccStore& store) {
  Entries e;
  for (const auto& l : store.lease_records()) e.emplace_back(lease_key(l.id), lease_value({l.id, l.ttl_s, l.remaining_ttl_s}));
  return sorted(std::move(e));  // by big-endian bytes, which is how bbolt orders them
}

Entries member_entries(const ClusterState& c) {
  Entries e;
  for (const Member& m : c.members) e.emplace_back(member_key(m.id), member_json(m));
  return sorted(std::move(e));
}

Entries removed_entries(const ClusterState& c) {
  Entries e;
  for (uint64_t id : c.removed_member_ids) e.emplace_back(member_key(id), "removed");
  return sorted(std::move(e));
}

Entries cluster_entries(const ClusterState& c) {
  if (c.cluster_version.empty()) return {};
  return {{std::string(cluster_version_key), c.cluster_version}};
}

Entries auth_entries(const ClusterState& c) {
  return {{std::string(auth_enabled_key), std::string(1, c.auth_enabled ? '\1' : '\0')},
          {std::string(auth_revision_key), be64(c.auth_revision)}};
}

}  // namespace

SnapshotWriter::SnapshotWriter(const mvcc::MvccStore& store, ClusterState cluster, bbolt::PageSink sink)
    : keys_(std::make_unique<KeySource>(store)), sink_(std::move(sink)) {
  revision_ = keys_->cursor().revision();
  std::vector<bbolt::BucketInput> buckets{{std::string(key_bucket), keys_.get()}};
  auto add = [&](std::string_view name, Entries e) {
    small_.push_back(std::make_unique<bbolt::VectorSource>(std::move(e)));
    buckets.push_back({std::string(name), small_.back().get()});
  };
  add(meta_bucket, meta_entries(cluster, keys_->cursor().compact_revision()));
  add(lease_bucket, lease_entries(store));
  add(members_bucket, member_entries(cluster));
  add(members_removed_bucket, removed_entries(cluster));
  add(cluster_bucket, cluster_entries(cluster));
  add(alarm_bucket, {});
  add(auth_bucket, auth_entries(cluster));
  add(auth_users_bucket, sorted(cluster.auth_users));
  add(auth_roles_bucket, sorted(cluster.auth_roles));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(ctx);
    throw std::bad_alloc();
  }
  sha_ = ctx;
  bolt_ = std::make_unique<bbolt::StreamWriter>(std::move(buckets), [this](std::string_view b) {
    EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(sha_), b.data(), b.size());
    sink_(b);
  });
}

SnapshotWriter::~SnapshotWriter() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(sha_)); }

uint64_t SnapshotWriter::file_bytes() const {
  bbolt::pgid_t pages = bolt_->page_count();
  return pages == 0 ? 0 : pages * uint64_t{bbolt::default_page_size} + sha256_bytes;
}

bool SnapshotWriter::step(size_t bytes_budget) {
  if (done_) return true;
  if (!bolt_->step(bytes_budget)) return false;
  unsigned int n = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(sha_), digest_.data(), &n);
  sink_(std::string_view(reinterpret_cast<const char*>(digest_.data()), digest_.size()));
  done_ = true;
  return true;
}

std::string write_snapshot(const mvcc::MvccStore& store, const ClusterState& cluster) {
  std::string out;
  SnapshotWriter w(store, cluster, [&](std::string_view b) { out.append(b); });
  w.run();
  return out;
}

}  // namespace ringkv::storage::etcd_snapshot
