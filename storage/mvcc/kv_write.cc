// storage/mvcc/kv_write.cc: Put and DeleteRange, and the write primitives every mutation goes
// through (one new version per modified key; all ops of one write share a main revision, numbered
// by sub revision, as etcd's storeTxnWrite does).
#include <algorithm>

#include "storage/mvcc/store.h"

namespace ringkv::storage::mvcc {

Errc MvccStore::validate_put(const PutRequest& r) {
  if (r.key.empty()) return Errc::empty_key;
  if (r.ignore_value && !r.value.empty()) return Errc::value_provided;
  if (r.ignore_lease && r.lease != no_lease) return Errc::lease_provided;
  return Errc::ok;
}

Errc MvccStore::validate_delete_range(const DeleteRangeRequest& r) {
  return r.key.empty() ? Errc::empty_key : Errc::ok;
}

void MvccStore::begin_write() { assert(sub_ == 0); }

void MvccStore::end_write() {
  if (sub_ > 0) ++current_rev_;
  sub_ = 0;
}

key_id_t MvccStore::find_or_create(std::string_view key) {
  uint32_t tag = HashIndex::tag_of(key);
  key_id_t id = hash_.find(key, tag);
  if (id != no_key_id) return id;
  id = keys_.allocate(key);
  hash_.insert(tag, id);
  order_.insert(key, id);
  return id;
}

void MvccStore::append_version(key_id_t id, const Version& v) {
  assert(sub_ < Version::sub_limit - 1);
  KeyEntry& e = keys_[id];
  e.push_back(v);
  size_bytes_ += static_cast<int64_t>(e.key().size() + v.value_len) + stored_version_overhead_bytes;
  log_.push_back(LogEntry{v.mod, v.sub, id});
  ++sub_;
  if (!watchers_.empty()) notify_watchers(id);
}

void MvccStore::write_put(key_id_t id, std::string_view value, lease_id_t lease) {
  KeyEntry& e = keys_[id];
  Version v;
  v.mod = current_rev_ + 1;
  v.sub = sub_;
  v.lease = lease;
  lease_id_t old_lease = no_lease;
  if (live(e)) {
    v.create = e.back().create;
    v.version = e.back().version + 1;
    old_lease = e.back().lease;
  } else {
    v.create = v.mod;
    v.version = 1;
  }
  v.set_value(value);
  append_version(id, v);
  if (old_lease != no_lease) lease_detach(old_lease, id);
  if (lease != no_lease) lease_attach(lease, id);
}

void MvccStore::write_tombstone(key_id_t id) {
  KeyEntry& e = keys_[id];
  assert(live(e));
  lease_id_t old_lease = e.back().lease;
  Version v;
  v.mod = current_rev_ + 1;
  v.sub = sub_;
  v.tombstone = 1;
  append_version(id, v);
  if (old_lease != no_lease) lease_detach(old_lease, id);
}

// Assumes the request passed validate_put and the lease/ignore checks.
PutResponse MvccStore::put_core(const PutRequest& r) {
  PutResponse resp;
  key_id_t id = find_or_create(r.key);
  const KeyEntry& e = keys_[id];
  std::string_view value = r.value;
  lease_id_t lease = r.lease;
  if (live(e)) {
    const Version& prev = e.back();
    if (r.prev_kv) resp.prev_kv = view_of(e, prev).to_owned();
    if (r.ignore_value) value = prev.value_view();
    if (r.ignore_lease) lease = prev.lease;
  }
  write_put(id, value, lease);
  resp.header_revision = current_rev_ + 1;
  return resp;
}

Result<PutResponse> MvccStore::put(const PutRequest& r) {
  if (Errc e = validate_put(r); e != Errc::ok) return e;
  if (r.lease != no_lease && !leases_.contains(r.lease)) return Errc::lease_not_found;
  if (r.ignore_value || r.ignore_lease) {
    key_id_t id = hash_.find(r.key);
    if (id == no_key_id || !live(keys_[id])) return Errc::key_not_found;
  }
  begin_write();
  PutResponse resp = put_core(r);
  end_write();
  return resp;
}

DeleteRangeResponse MvccStore::delete_core(const DeleteRangeRequest& r) {
  DeleteRangeResponse resp;
  std::vector<key_id_t> ids;
  visit_range(r.key, r.range_end, read_rev(), [&](key_id_t id, const KeyEntry& e, const Version& v) {
    if (r.prev_kv) resp.prev_kvs.push_back(view_of(e, v).to_owned());
    ids.push_back(id);
  });
  for (key_id_t id : ids) write_tombstone(id);
  resp.deleted = static_cast<int64_t>(ids.size());
  resp.header_revision = sub_ > 0 ? current_rev_ + 1 : current_rev_;
  return resp;
}

Result<DeleteRangeResponse> MvccStore::delete_range(const DeleteRangeRequest& r) {
  if (Errc e = validate_delete_range(r); e != Errc::ok) return e;
  begin_write();
  DeleteRangeResponse resp = delete_core(r);
  end_write();
  return resp;
}

int64_t MvccStore::quota_cost(const PutRequest& r) {
  return quota_kv_overhead_bytes + static_cast<int64_t>(r.key.size() + r.value.size());
}

int64_t MvccStore::quota_cost(const TxnRequest& r) {
  auto branch = [](const std::vector<RequestOp>& ops) {
    int64_t sum = 0;
    for (const auto& op : ops) {
      if (const auto* p = std::get_if<PutRequest>(&op.request)) sum += quota_cost(*p);
    }
    return sum;
  };
  return std::max(branch(r.success), branch(r.failure));
}

}  // namespace ringkv::storage::mvcc
