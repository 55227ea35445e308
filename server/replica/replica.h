// server/replica/replica.h — one replicated member: the raft driver with what it applies to (the MVCC
// store through kv_applier, the member records) and where it makes things durable (wal_log_storage),
// the member's identity, and its peers kept equal to the member records. The API layer (server/api)
// works through this narrow interface: propose, read barriers, reads of the store, the member records,
// and the events below. Everything here runs on the raft shard (shard 0).
//
//   api: propose(kind, bytes) ──> raft_driver ──Ready──> wal_log_storage (fdatasync)
//                                      └── committed ──> replica::apply_entry ──> kv_applier / members
//                                                          └──> replica_events::entries_applied (api)
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "etcd/rpc.pb.h"
#include "runtime/timer.h"
#include "server/common/config.h"
#include "server/replica/compaction_stepper.h"
#include "server/replica/kv_applier.h"
#include "server/replica/member_identity.h"
#include "server/replica/membership.h"
#include "server/replica/raft_driver.h"
#include "server/replica/wal_log_storage.h"
#include "storage/mvcc/store.h"
#include "storage/wal/snapshot_store.h"
#include "storage/wal/wal.h"

namespace ringkv::net::peer {
class peer_transport;
}

namespace ringkv::server {

// etcd's request timeout (5 s + 2 election timeouts) from now.
runtime::clock::time_point request_deadline(const server_config& config);

// What the layer above learns from the replica, on the raft shard, from inside the driver's loop.
class replica_events {
 public:
  // After each batch of applied entries (and an installed snapshot): watchers, waiters on the store.
  virtual void entries_applied() = 0;
  // This member leads and a member asked it something through the log (membership.h's member_ask):
  // the answer is proposed as an ask_answer entry (replica::answer_member_ask).
  virtual void member_asked(member_op op, member_ask ask) = 0;
  // The store's whole state is about to be replaced (an installed snapshot): whatever reads the store
  // across loop turns (Maintenance.Snapshot's writers) lets go of it now.
  virtual void state_replacing() = 0;

 protected:
  ~replica_events() = default;
};

class replica final : private replicated_state {
 public:
  // Throws (std::exception) when the persisted state cannot be used: a snapshot that does not decode,
  // or a WAL that does not reach back to the snapshot (entries would be missing). `config`, `wal` and
  // `snapshots` outlive the replica.
  replica(const server_config& config, member_identity identity, storage::wal::write_ahead_log& wal,
          storage::wal::snapshot_store& snapshots, storage::wal::recovered_state recovered,
          std::optional<storage::wal::loaded_snapshot> snapshot);

  // Set once, before run(); `events` outlives the replica.
  void set_events(replica_events& events) { events_ = &events; }
  runtime::task<void> run();  // the raft driver's loop (and the compaction steps), until stop()
  void stop();
  bool stopping() const { return stopping_; }
  bool leaving() const { return leaving_; }  // removed from the cluster: the process stops soon

  const server_config& config() const { return config_; }
  const member_identity& identity() const { return identity_; }
  mvcc::MvccStore& store() { return store_; }
  const mvcc::MvccStore& store() const { return store_; }
  // Returns once the applied compactions released their memory (Compact with physical=true).
  runtime::task<void> compaction_finished() { return compaction_.finished(); }
  kv_applier& applier() { return applier_; }
  const kv_applier& applier() const { return applier_; }
  const membership& members() const { return members_; }
  raft_driver& driver() { return driver_; }
  const raft_driver& driver() const { return driver_; }
  // This member's record is a learner's (changes when it is promoted); a reference for the pipeline.
  const bool& is_learner() const { return self_learner_; }

  // Proposes a request (etcd: it must fit --max-request-bytes); completes with its apply result.
  runtime::task<apply_result> propose(proposal_kind kind, std::string bytes);
  runtime::task<rpc_status> propose_member_change(member_change change);
  // Asks the leader through the log (member_ask) and waits for its answer, within the request timeout.
  runtime::task<rpc_status> ask_leader_about(member_op op, uint64_t target);
  // The leader's answer to a member_asked() question, proposed as an ask_answer entry.
  runtime::task<void> answer_member_ask(member_ask ask);

  // MemberList's members and header, as this member knows them (itself named even before it published).
  void list_members(etcdserverpb::ResponseHeader* header,
                    google::protobuf::RepeatedPtrField<etcdserverpb::Member>* members) const;

  // A cluster of one voter growing to two (cluster_service.cc: add_second_voter): the added voter's id
  // until its conf change is applied (0: none).
  uint64_t second_voter_pending() const { return second_voter_pending_; }
  void expect_second_voter(uint64_t id) { second_voter_pending_ = id; }

  // The peer transport's side. A member started alone: `start` starts the peer transport once another
  // member is added (or was, before a restart); it must call driver().wiring().attach (start_peers does).
  void start_peers_when_needed(std::function<void()> start) { peers_starter_ = std::move(start); }
  bool has_other_members() const;  // started with others, or knows others (records, staged adds)
  void heard_from(uint64_t member);    // the peer transport received a message from `member`
  void lost_contact(uint64_t member);  // ... or lost its connection to it / could not reach it
  // `member` was heard from within an election timeout, in a streak that began no later than `since`.
  bool active_since(uint64_t member, runtime::clock::time_point since) const;

 private:
  // replicated_state: what the raft driver applies committed entries to.
  apply_result apply_entry(const decoded_payload& payload, raft::Index index, raft::Term term) override;
  void skip_undecodable_entry(raft::Index index) override;
  void apply_conf_change(const raft::ConfChange& change, raft::Index index) override;
  void entries_applied() override;
  void leadership_changed(bool is_leader) override;
  snapshot_stepper begin_snapshot(std::string& out) override;
  bool restore_snapshot(raft::Index index, std::string_view data) override;

  runtime::task<void> run_driver();
  apply_result apply_member_change(const decoded_payload& payload, raft::Term term);
  apply_result apply_member_ask(std::string_view message, raft::Term term);
  // Snapshot bytes (membership section + applier state) into the applier and members_.
  bool restore_state(std::string_view data, raft::Index index);
  std::string members_query() const;  // MemberListResponse bytes for a joining member
  void sync_peers();     // the transport's peers := member records (+ staged adds), removed ones refused
  void request_peers_if_needed();  // no transport yet but other members: start_peers_when_needed's call
  void leave_cluster();  // this member was removed: log etcd's line and stop the process

  const server_config& config_;
  member_identity identity_;
  wal_log_storage log_storage_;  // the raft driver's: WAL records and snapshot files
  mvcc::MvccStore store_;
  kv_applier applier_;
  compaction_stepper compaction_{store_};
  membership members_;
  raft_driver driver_;
  replica_events* events_ = nullptr;
  bool stopping_ = false;

  net::peer::peer_transport* transport_ = nullptr;         // set by start_peers (cluster_bootstrap.h)
  std::map<uint64_t, std::string> transport_peers_;        // id -> peer URL handed to the transport
  std::function<void()> peers_starter_;  // start_peers_when_needed
  bool peers_start_requested_ = false;
  bool self_learner_ = false;          // this member's record is a learner's (set by sync_peers)
  uint64_t second_voter_pending_ = 0;  // expect_second_voter: appended, not applied yet (0: none)
  bool leaving_ = false;
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
};

}  // namespace ringkv::server
