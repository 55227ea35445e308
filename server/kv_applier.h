// server/kv_applier.h — the replicated state machine: applies committed raft entries (put, delete,
// txn, compaction, leases, alarms) to the MVCC store and serializes etcd's response for the proposer.
// Pure apart from reading the clock for local lease expiry; runs on the raft shard only.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <utility>

#include "raft/types.h"
#include "server/errors.h"
#include "server/kv_convert.h"
#include "server/node.h"
#include "server/raft_payload.h"
#include "storage/mvcc/store.h"

namespace ringkv::server {

rpc_status to_status(mvcc::Errc error);
int64_t lease_clock_ms();  // steady clock in ms: the store's `now_ms` for lease expiry

class kv_applier {
 public:
  kv_applier(mvcc::MvccStore& store, uint64_t cluster_id, uint64_t member_id);

  apply_result apply(const decoded_payload& payload, raft::Index index, raft::Term term);

  header_ids ids() const { return {cluster_id_, member_id_, term_}; }
  void set_term(raft::Term term) { term_ = term; }
  bool nospace_alarm() const { return !alarms_.empty(); }
  // (member id, etcdserverpb::AlarmType) pairs currently raised.
  const std::set<std::pair<uint64_t, int>>& alarms() const { return alarms_; }
  raft::Index applied_index() const { return applied_index_; }

  // The replicated state as bytes (for raft snapshots): alarms, then the MVCC store's snapshot.
  //   [u32 alarm count][alarm count x (u64 member id, u32 alarm type)][MvccStore::snapshot() bytes]
  std::string snapshot() const;
  // Replaces the state from snapshot() bytes; false (state unchanged) if they do not decode.
  bool restore(std::string_view bytes, raft::Index index);

 private:
  apply_result apply_put(std::string_view message);
  apply_result apply_delete_range(std::string_view message);
  apply_result apply_txn(std::string_view message);
  apply_result apply_compaction(std::string_view message);
  apply_result apply_lease_grant(std::string_view message);
  apply_result apply_lease_revoke(std::string_view message);
  apply_result apply_lease_checkpoint(std::string_view message);
  apply_result apply_alarm(std::string_view message);

  mvcc::MvccStore& store_;
  uint64_t cluster_id_;
  uint64_t member_id_;
  raft::Term term_ = 0;
  raft::Index applied_index_ = 0;
  std::set<std::pair<uint64_t, int>> alarms_;
};

}  // namespace ringkv::server
