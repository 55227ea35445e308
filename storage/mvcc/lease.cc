// storage/mvcc/lease.cc: leases as etcd's lessor keeps them. Grant/revoke/checkpoint are applied
// through raft on every member; expiry is local time, tracked only on the primary (the leader), which
// turns expired leases into revoke proposals. A revoke deletes the attached keys in one revision.
#include <algorithm>

#include "storage/mvcc/store.h"

namespace ringkv::storage::mvcc {
namespace {

int64_t expiry_after(int64_t now_ms, int64_t ttl_s, int64_t extend_ms) {
  int64_t ttl_ms = ttl_s > (INT64_MAX / 1000) ? INT64_MAX : ttl_s * 1000;
  if (ttl_ms > INT64_MAX - now_ms - extend_ms) return lease_forever_ms;
  return now_ms + extend_ms + ttl_ms;
}

}  // namespace

Result<LeaseGrantResponse> MvccStore::lease_grant(lease_id_t id, int64_t ttl_s, int64_t now_ms) {
  if (id == no_lease) return Errc::lease_not_found;
  if (ttl_s > max_lease_ttl_s) return Errc::lease_ttl_too_large;
  if (leases_.contains(id)) return Errc::lease_exists;
  Lease& l = leases_[id];
  l.ttl_s = std::max(ttl_s, config_.min_lease_ttl_s);
  l.expiry_ms = lease_primary_ ? expiry_after(now_ms, l.ttl_s, 0) : lease_forever_ms;
  size_bytes_ += stored_lease_bytes;
  return LeaseGrantResponse{current_rev_, id, l.ttl_s};
}

Result<LeaseRevokeResponse> MvccStore::lease_revoke(lease_id_t id) {
  auto it = leases_.find(id);
  if (it == leases_.end()) return Errc::lease_not_found;
  std::vector<key_id_t> ids(it->second.keys.begin(), it->second.keys.end());
  std::sort(ids.begin(), ids.end(), [&](key_id_t a, key_id_t b) { return keys_[a].key() < keys_[b].key(); });
  begin_write();
  for (key_id_t k : ids) write_tombstone(k);  // detaches each key from the lease
  end_write();
  assert(leases_.at(id).keys.empty());
  leases_.erase(id);
  size_bytes_ -= stored_lease_bytes;
  return LeaseRevokeResponse{current_rev_};
}

Errc MvccStore::lease_checkpoint(lease_id_t id, int64_t remaining_ttl_s) {
  auto it = leases_.find(id);
  if (it != leases_.end()) it->second.remaining_ttl_s = remaining_ttl_s;
  return Errc::ok;
}

Result<LeaseRenewResponse> MvccStore::lease_renew(lease_id_t id, int64_t now_ms) {
  if (!lease_primary_) return Errc::not_primary;
  auto it = leases_.find(id);
  if (it == leases_.end()) return Errc::lease_not_found;
  Lease& l = it->second;
  if (l.expiry_ms <= now_ms) return Errc::lease_not_found;  // expired: its revoke is on the way
  LeaseRenewResponse resp{l.ttl_s, l.remaining_ttl_s > 0};
  l.remaining_ttl_s = 0;
  l.expiry_ms = expiry_after(now_ms, l.ttl_s, 0);
  return resp;
}

Result<LeaseTimeToLiveResponse> MvccStore::lease_time_to_live(lease_id_t id, int64_t now_ms, bool with_keys) const {
  auto it = leases_.find(id);
  if (it == leases_.end()) return Errc::lease_not_found;
  const Lease& l = it->second;
  LeaseTimeToLiveResponse resp;
  resp.header_revision = current_rev_;
  resp.id = id;
  resp.granted_ttl_s = l.ttl_s;
  // etcd: int64(Remaining().Seconds()), truncated; "forever" on a non-primary is MaxInt64 ns.
  resp.ttl_s = l.expiry_ms == lease_forever_ms ? INT64_MAX / 1000000000 : (l.expiry_ms - now_ms) / 1000;
  if (with_keys) {
    for (key_id_t k : l.keys) resp.keys.emplace_back(keys_[k].key());
    std::sort(resp.keys.begin(), resp.keys.end());
  }
  return resp;
}

std::vector<lease_id_t> MvccStore::lease_list() const {
  std::vector<lease_id_t> ids;
  ids.reserve(leases_.size());
  for (const auto& [id, l] : leases_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

void MvccStore::lease_promote(int64_t now_ms, int64_t extend_ms) {
  lease_primary_ = true;
  for (auto& [id, l] : leases_) {
    l.expiry_ms = expiry_after(now_ms, l.remaining_ttl_s > 0 ? l.remaining_ttl_s : l.ttl_s, extend_ms);
  }
}

void MvccStore::lease_demote() {
  lease_primary_ = false;
  for (auto& [id, l] : leases_) l.expiry_ms = lease_forever_ms;
}

std::vector<lease_id_t> MvccStore::lease_expired(int64_t now_ms, size_t limit) const {
  std::vector<lease_id_t> ids;
  if (!lease_primary_) return ids;
  for (const auto& [id, l] : leases_) {
    if (l.expiry_ms <= now_ms) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  if (ids.size() > limit) ids.resize(limit);
  return ids;
}

std::vector<LeaseCheckpoint> MvccStore::lease_checkpoints_due(int64_t now_ms, size_t limit) const {
  std::vector<LeaseCheckpoint> cps;
  if (!lease_primary_) return cps;
  for (const auto& [id, l] : leases_) {
    if (l.expiry_ms == lease_forever_ms || l.expiry_ms <= now_ms) continue;
    int64_t remaining_s = (l.expiry_ms - now_ms + 999) / 1000;  // etcd rounds up
    if (remaining_s < l.ttl_s) cps.push_back(LeaseCheckpoint{id, remaining_s});
  }
  std::sort(cps.begin(), cps.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  if (cps.size() > limit) cps.resize(limit);
  return cps;
}

void MvccStore::lease_attach(lease_id_t lease, key_id_t id) {
  auto it = leases_.find(lease);
  assert(it != leases_.end());
  if (it != leases_.end()) it->second.keys.insert(id);
}

void MvccStore::lease_detach(lease_id_t lease, key_id_t id) {
  auto it = leases_.find(lease);
  if (it != leases_.end()) it->second.keys.erase(id);
}

}  // namespace ringkv::storage::mvcc
