// server/api/etcd_server.h — one member serving etcd's v3 API: owns the MVCC store, the state machine
// applier and the node loop, and registers the gRPC methods (KV, Watch, Lease, Cluster, Maintenance)
// in a net::grpc::service_registry. Everything here runs on the raft shard (shard 0).
//
//   gRPC handler ─ parse + validate ─┬─ write: node.propose(kind, request bytes) ─> apply ─> reply
//                                    └─ read: node.read_barrier() (unless serializable) ─> store.range
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
#include "server/replica/wal_log_storage.h"
#include "server/replica/raft_driver.h"
#include "storage/mvcc/store.h"
#include "storage/wal/snapshot_store.h"
#include "storage/wal/wal.h"

namespace ringkv::server {

net::grpc::status to_grpc(const rpc_status& status);


// The result of a unary method: a serialized response, or the status the call ends with.
using unary_outcome = apply_result;

class etcd_server final : private replicated_state {
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
  const kv_applier& applier() const { return applier_; }
  raft_driver& driver() { return driver_; }
  // A member started alone: `start` starts the peer transport once another member is added (or was,
  // before a restart); it must call driver().wiring().attach (start_peers does).
  void start_peers_when_needed(std::function<void()> start) { peers_starter_ = std::move(start); }
  bool has_other_members() const;  // started with others, or knows others (records, staged adds)
  void heard_from(uint64_t member);    // the peer transport received a message from `member`
  void lost_contact(uint64_t member);  // ... or lost its connection to it / could not reach it

 private:
  struct watch_stream;

  // replicated_state: what the raft driver applies committed entries to.
  apply_result apply_entry(const decoded_payload& payload, raft::Index index, raft::Term term) override;
  void skip_undecodable_entry(raft::Index index) override;
  void apply_conf_change(const raft::ConfChange& change, raft::Index index) override;
  void entries_applied() override;
  void leadership_changed(bool is_leader) override;
  snapshot_stepper begin_snapshot(std::string& out) override;
  bool restore_snapshot(raft::Index index, std::string_view data) override;

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
  runtime::task<unary_outcome> propose(proposal_kind kind, std::string bytes);
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

  // Cluster (server/cluster_service.cc)
  runtime::task<unary_outcome> member_list(std::string bytes);
  runtime::task<unary_outcome> member_add(std::string bytes);
  runtime::task<unary_outcome> member_remove(std::string bytes);
  runtime::task<unary_outcome> member_update(std::string bytes);
  runtime::task<unary_outcome> member_promote(std::string bytes);
  // Proposes a membership entry / raft conf change, one membership change of this member at a time.
  runtime::task<rpc_status> propose_member_change(member_change change);
  runtime::task<rpc_status> begin_membership_change();  // waits for the previous one (request timeout)
  void end_membership_change() { membership_busy_ = false; }
  runtime::task<void> publish_self();  // etcd's publish: name and client URLs, once a leader exists
  template <typename Response>
  apply_result members_reply(Response& response) const;
  // MemberPromote: the leader checks its progress and proposes AddVoter; another member asks the
  // leader through the log (promote_ask / ask_answer, membership.h) and waits for its answer.
  bool voters_are_only_self() const;
  runtime::task<rpc_status> add_second_voter(raft::ConfChange change);  // see cluster_service.cc
  runtime::task<rpc_status> promote_as_leader(uint64_t learner_id);
  runtime::task<rpc_status> ask_leader_about(member_op op, uint64_t target);  // through the log (member_ask)
  runtime::task<void> answer_member_ask(member_op op, member_ask ask);
  apply_result apply_member_ask(std::string_view message, raft::Term term);
  // --strict-reconfig-check's connection part: on the leader from what it hears, elsewhere asked of it.
  runtime::task<rpc_status> check_reconfig_health(uint64_t removing);  // 0: adding a member
  rpc_status reconfig_health(uint64_t removing) const;
  bool active_since(uint64_t member, runtime::clock::time_point since) const;
  apply_result apply_member_change(const decoded_payload& payload, raft::Term term);
  void sync_peers();     // the transport's peers := member records (+ staged adds), removed ones refused
  void request_peers_if_needed();  // no transport yet but other members: start_peers_when_needed's call
  void leave_cluster();  // this member was removed: log etcd's line and stop the process
  // Snapshot bytes (membership section + applier state) into the applier and members_.
  bool restore_state(std::string_view data, raft::Index index);
  std::string members_query() const;  // MemberListResponse bytes for a joining member

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


  server_config config_;
  member_identity identity_;
  storage::wal::write_ahead_log& wal_;
  storage::wal::snapshot_store& snapshots_;
  wal_log_storage log_storage_;  // the raft driver's: WAL records and snapshot files
  mvcc::MvccStore store_;
  kv_applier applier_;
  membership members_;
  raft_driver driver_;
  net::peer::peer_transport* transport_ = nullptr;         // set by start_peers (cluster_bootstrap.h)
  std::map<uint64_t, std::string> transport_peers_;        // id -> peer URL handed to the transport
  bool membership_busy_ = false;
  std::function<void()> peers_starter_;  // start_peers_when_needed
  bool peers_start_requested_ = false;
  bool self_learner_ = false;  // this member's record is a learner's (set by sync_peers)
  learner_refusal learner_refusal_{self_learner_};
  request_pipeline pipeline_;  // every call, gRPC and gateway alike, passes it first
  uint64_t second_voter_pending_ = 0;  // add_second_voter: appended, not applied yet (0: none)
  struct ask_wait {
    bool answered = false;
    rpc_status status;
  };
  std::map<uint64_t, ask_wait*> ask_waiters_;  // nonce -> the asker's frame (ask_leader_about)
  uint64_t next_ask_nonce_ = 0;                // random start: replayed answers match no waiter
  struct peer_activity {
    runtime::clock::time_point active_since;  // start of the current streak of messages
    runtime::clock::time_point last_heard;    // a gap above an election timeout ends the streak
  };
  std::map<uint64_t, peer_activity> peer_activity_;  // heard_from
  bool leaving_ = false;
  bool stopping_ = false;
  // Lease housekeeping, publish, auto compaction and Maintenance.Snapshot streams: run() waits for them.
  runtime::gate background_;

  std::unordered_map<mvcc::watch_id_t, std::weak_ptr<watch_stream>> watch_owner_;  // streams own themselves via their call's callbacks
};

}  // namespace ringkv::server
