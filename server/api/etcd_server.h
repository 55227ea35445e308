// server/api/etcd_server.h — the etcd v3 services of one member (KV, Watch, Lease, Cluster, Maintenance,
// Lock, Election) over its replica (server/replica/replica.h), registered in a
// net::grpc::service_registry; every call passes the request_pipeline first. Runs on the raft shard.
//
//   gRPC handler ─ pipeline ─ parse + validate ─┬─ write: replica.propose(kind, request bytes) ─> apply ─> reply
//                                               └─ read: driver.read_barrier() (unless serializable) ─> store.range
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "net/grpc/grpc_status.h"
#include "net/grpc/service_registry.h"
#include "runtime/gate.h"
#include "runtime/task.h"
#include "runtime/timer.h"
#include "server/api/request_pipeline.h"
#include "server/common/config.h"
#include "server/replica/kv_applier.h"
#include "server/replica/member_identity.h"
#include "server/replica/membership.h"
#include "server/replica/raft_driver.h"
#include "server/replica/replica.h"
#include "storage/mvcc/store.h"
#include "storage/wal/snapshot_store.h"
#include "storage/wal/wal.h"

namespace ringkv::server {

net::grpc::status to_grpc(const rpc_status& status);


// The result of a unary method: a serialized response, or the status the call ends with.
using unary_outcome = apply_result;

class etcd_server final : private replica_events {
 public:
  // Throws (std::exception) when the persisted state cannot be used: a snapshot that does not decode,
  // or a WAL that does not reach back to the snapshot (entries would be missing).
  etcd_server(const server_config& config, member_identity identity, storage::wal::write_ahead_log& wal,
              storage::wal::snapshot_store& snapshots, storage::wal::recovered_state recovered,
              std::optional<storage::wal::loaded_snapshot> snapshot);
  ~etcd_server();

  void register_services(net::grpc::service_registry& registry);
  runtime::task<void> run();  // node loop + lease housekeeping, until stop()
  void stop();

  // For the HTTP endpoints: the JSON gateway calls the same unary methods as gRPC.
  bool healthy() const;
  runtime::task<unary_outcome> call_unary(std::string_view grpc_method, std::string bytes);
  replica& member() { return replica_; }  // the raft driver, peers' wiring (server/process)

 private:
  struct watch_stream;

  // replica_events: what the replica tells the services.
  void entries_applied() override;  // watchers poll, waiters on the store wake
  void member_asked(member_op op, member_ask ask) override;

  // Unary methods: a coroutine from request bytes to response bytes or a status, shared by gRPC and
  // the JSON gateway.
  using unary_method = runtime::task<unary_outcome> (etcd_server::*)(std::string bytes);
  runtime::task<void> run_unary(net::grpc::call_ref call, std::string_view path, unary_method method,
                                std::string bytes);
  bool admit_stream(const net::grpc::call_ref& call) const;  // false: finished with the pipeline's refusal

  // KV
  runtime::task<unary_outcome> range(std::string bytes);
  runtime::task<unary_outcome> put(std::string bytes);
  runtime::task<unary_outcome> delete_range(std::string bytes);
  runtime::task<unary_outcome> txn(std::string bytes);
  runtime::task<unary_outcome> compact(std::string bytes);
  rpc_status check_space(int64_t cost);  // NOSPACE (raising the alarm once) or ok

  // Lease
  runtime::task<unary_outcome> lease_grant(std::string bytes);
  runtime::task<unary_outcome> lease_revoke(std::string bytes);
  runtime::task<unary_outcome> lease_time_to_live(std::string bytes);
  runtime::task<unary_outcome> lease_leases(std::string bytes);
  void on_lease_keep_alive(const net::grpc::call_ref& call);
  runtime::task<void> lease_housekeeping();
  runtime::task<void> auto_compactor();  // --auto-compaction-mode/retention, leader only

  // Watch
  void on_watch(const net::grpc::call_ref& call);
  void pump_watchers();

  // Cluster (server/api/cluster_service.cc)
  runtime::task<unary_outcome> member_list(std::string bytes);
  runtime::task<unary_outcome> member_add(std::string bytes);
  runtime::task<unary_outcome> member_remove(std::string bytes);
  runtime::task<unary_outcome> member_update(std::string bytes);
  runtime::task<unary_outcome> member_promote(std::string bytes);
  // One membership change of this member at a time: waits for the previous one (request timeout).
  runtime::task<rpc_status> begin_membership_change();
  void end_membership_change() { membership_busy_ = false; }
  runtime::task<void> publish_self();  // etcd's publish: name and client URLs, once a leader exists
  template <typename Response>
  apply_result members_reply(Response& response) const;
  // MemberPromote: the leader checks its progress and proposes AddVoter; another member asks the
  // leader through the log (promote_ask / ask_answer, membership.h) and waits for its answer.
  bool voters_are_only_self() const;
  runtime::task<rpc_status> add_second_voter(raft::ConfChange change);  // see cluster_service.cc
  runtime::task<rpc_status> promote_as_leader(uint64_t learner_id);
  runtime::task<void> answer_member_ask(member_op op, member_ask ask);  // as the leader
  // --strict-reconfig-check's connection part: on the leader from what it hears, elsewhere asked of it.
  runtime::task<rpc_status> check_reconfig_health(uint64_t removing);  // 0: adding a member
  rpc_status reconfig_health(uint64_t removing) const;

  // Maintenance
  runtime::task<unary_outcome> status(std::string bytes);
  runtime::task<unary_outcome> alarm(std::string bytes);
  runtime::task<unary_outcome> hash(std::string bytes);
  runtime::task<unary_outcome> hash_kv(std::string bytes);
  runtime::task<unary_outcome> defragment(std::string bytes);
  runtime::task<unary_outcome> move_leader(std::string bytes);
  void on_snapshot(const net::grpc::call_ref& call, std::string_view bytes);
  // Maintenance.Snapshot's stream: serialized, hashed and queued a slice per loop turn.
  runtime::task<void> stream_snapshot(net::grpc::call_ref call);

  // Lock and Election (server-side recipes on KV + watch, etcd's key layout)
  runtime::task<unary_outcome> lock(std::string bytes);
  runtime::task<unary_outcome> unlock(std::string bytes);
  runtime::task<unary_outcome> campaign(std::string bytes);
  runtime::task<unary_outcome> proclaim(std::string bytes);
  runtime::task<unary_outcome> leader(std::string bytes);
  runtime::task<unary_outcome> resign(std::string bytes);
  void on_observe(const net::grpc::call_ref& call, std::string_view bytes);
  // Waits until no key under `prefix` was created before `create_revision` (etcd's waitDeletes).
  runtime::task<rpc_status> wait_for_turn(std::string prefix, int64_t create_revision);
  // The oldest key under `prefix` (by create revision), if any.
  std::optional<mvcc::KeyValue> oldest_under(const std::string& prefix) const;
  // Proposes `txn` and parses its response.
  runtime::task<rpc_status> run_txn(const etcdserverpb::TxnRequest& txn, etcdserverpb::TxnResponse& response);
  // Campaign/Lock: creates `key` with `lease` (and `value`) unless it exists, then waits for its turn.
  runtime::task<rpc_status> acquire(std::string prefix, std::string key, int64_t lease, std::string value,
                                    int64_t& create_revision);
  void wake_apply_waiters(const rpc_status& status);

  std::unordered_map<std::string, unary_method> unary_methods_;  // "/etcdserverpb.KV/Range" -> method
  std::vector<runtime::completion<rpc_status>*> apply_waiters_;  // woken after every applied batch


  replica replica_;
  // The replica's parts the services use, by their old names (narrowing them is the next step).
  const server_config& config_ = replica_.config();
  const member_identity& identity_ = replica_.identity();
  mvcc::MvccStore& store_ = replica_.store();
  kv_applier& applier_ = replica_.applier();
  const membership& members_ = replica_.members();
  raft_driver& driver_ = replica_.driver();
  learner_refusal learner_refusal_{replica_.is_learner()};
  request_pipeline pipeline_;  // every call, gRPC and gateway alike, passes it first
  bool membership_busy_ = false;  // one membership change of this member at a time
  // Lease housekeeping, publish, auto compaction and Maintenance.Snapshot streams: run() waits for them.
  runtime::gate background_;

  std::unordered_map<mvcc::watch_id_t, std::weak_ptr<watch_stream>> watch_owner_;  // streams own themselves via their call's callbacks
};

}  // namespace ringkv::server
