// server/replica/raft_driver.h — the raft driver: the raft group of one shard, its durable log and its
// state machine (replicated_state), with where it makes things durable (log_storage).
//
// One turn of the loop (on the raft shard):
//
//   handlers ──propose()──> queued proposals ─┐
//   handlers ──read_barrier()──> queued reads ─┤
//   ticker ──(every heartbeat interval)──> tick┤
//                                              v
//        raft.tick() / raft.propose(batch) / raft.read_index(ctx)
//        while raft.has_ready():
//          rd = raft.ready()
//          storage.append(rd.hard_state, rd.entries) ── spawned: WAL group commit ──> mark_persisted(seq), wake
//          send rd.messages                    ──> send_ ──> net/peer transport (single voter: none)
//          apply rd.committed_entries ──> state.apply_entry ──> complete the proposers' completions
//          rd.read_states ──> reads wait for applied >= index, then their barrier completes
//          raft.advance(rd)
//
// Raft hands out committed entries only once they are durable locally, so a proposer is answered only
// after its entry is in the WAL (fdatasync'd) and applied.
#pragma once

#include <chrono>
#include <memory>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "raft/conf_change.h"
#include "raft/node.h"
#include "runtime/task.h"
#include "server/common/errors.h"
#include "server/replica/raft_payload.h"
#include "storage/wal/snapshot_mapping.h"
#include "storage/wal/snapshot_writer.h"
#include "runtime/completion.h"
#include "runtime/condition.h"
#include "runtime/notifier.h"

namespace ringkv::net::peer {
class peer_transport;
}

namespace ringkv::server {

// What start_peers (cluster_bootstrap.h) needs from the member to wire its peer transport; set by
// etcd_server, which keeps the transport's peers equal to the replicated member records.
struct peer_wiring {
  uint64_t cluster_id = 0;
  std::function<void(net::peer::peer_transport* transport)> attach;  // started (nullptr: stopping)
  std::function<std::string()> members_query;  // bytes answering a joining member's query
  std::function<void()> on_removed;            // a peer says we were removed from the cluster
};

// One slice of a snapshot in progress (replicated_state::begin_snapshot): more to come, complete, or
// abandoned because the state was replaced (a snapshot from the leader was installed meanwhile).
enum class snapshot_step { more, done, abandoned };
using snapshot_stepper = std::function<snapshot_step()>;

// The state machine the driver applies committed entries to, in log order, on the raft shard.
class replicated_state {
 public:
  // Applies one committed entry (payload decoded); `index`/`term` are the entry's.
  virtual apply_result apply_entry(const decoded_payload& payload, raft::Index index, raft::Term term) = 0;
  // A committed entry whose payload does not decode (corruption or a newer format): it is skipped.
  virtual void skip_undecodable_entry(raft::Index index) = 0;
  // A committed membership change (raft conf-change entry, kBootstrap included), in log order.
  virtual void apply_conf_change(const raft::ConfChange& change, raft::Index index) = 0;
  // After each batch of applied entries (and after a snapshot was installed): watchers poll here.
  virtual void entries_applied() = 0;
  // This member became leader (true) or stopped being leader (false).
  virtual void leadership_changed(bool is_leader) = 0;
  // Begins the state's bytes as of the last applied entry, written into `out` a slice per call of the
  // returned stepper (entries are applied between slices).
  virtual snapshot_stepper begin_snapshot(std::string& out) = 0;
  // A snapshot received from the leader: loads it (false: it does not decode). The driver makes it
  // durable with log_storage::save_snapshot before the ready that carried it is marked persisted.
  virtual bool restore_snapshot(raft::Index index, std::string_view data) = 0;

 protected:
  ~replicated_state() = default;
};

// Where the driver makes raft's state durable (server/replica/wal_log_storage.h: the WAL and the
// snapshot files). Both complete only once what they were given is fdatasync'd.
class log_storage {
 public:
  // Queues the hard state and entries at once (in ready() order; the spans are valid only during the
  // call) and returns a task that completes when they are durable (WAL group commit).
  virtual runtime::task<void> append(const std::optional<raft::HardState>& hard_state,
                                     std::span<const raft::Entry> entries) = 0;
  // The snapshot file first, then the log's marker, then the log segments it covers are released.
  // `data` stays valid until the task completes.
  virtual runtime::task<void> save_snapshot(raft::Index index, raft::Term term, std::string_view data) = 0;
  // The member's own snapshot, written while the state is serialized (never all of it in memory):
  // begin_snapshot opens the file, the driver appends the state's bytes to the writer, and
  // commit_snapshot does what save_snapshot does after the bytes, returning the saved file mapped
  // (what raft keeps for followers that fall behind). A writer dropped uncommitted removes its file.
  virtual runtime::task<storage::wal::snapshot_writer> begin_snapshot(raft::Index index, raft::Term term) = 0;
  virtual runtime::task<storage::wal::snapshot_mapping> commit_snapshot(storage::wal::snapshot_writer& file) = 0;

 protected:
  ~log_storage() = default;
};

struct raft_driver_limits {
  std::chrono::milliseconds tick_interval{100};
  std::chrono::milliseconds request_timeout{7000};  // etcd: 5 s + 2 * election timeout
  size_t proposals_per_batch_max = 4096;             // payloads handed to raft.propose() at once
  size_t queued_proposals_max = 65536;               // beyond: "etcdserver: too many requests"
  uint64_t snapshot_entries = 100000;                // --snapshot-count: applied entries per snapshot (at
                                                     // least; also as many entry bytes as the last one's size)
};

inline constexpr uint32_t conf_change_attempt_ticks = 10;  // ticks before a lost conf change is re-proposed

class raft_driver {
 public:
  // `state` and `storage` outlive the driver.
  raft_driver(raft::Config raft_config, raft::PersistedState persisted, replicated_state& state,
              log_storage& storage, raft_driver_limits limits);
  raft_driver(const raft_driver&) = delete;
  raft_driver& operator=(const raft_driver&) = delete;

  // The loop; returns after stop() once in-flight persists have finished, failing waiting requests.
  runtime::task<void> run();
  void stop();

  // Proposes a request; completes with its apply result, or an error (timeout, stopped, too many).
  runtime::task<apply_result> propose(proposal_kind kind, std::string message);
  // Completes once the state machine reflects every write committed before the call (ReadIndex).
  runtime::task<rpc_status> read_barrier();
  // Proposes a raft membership change; completes once a change of the same type and member is applied
  // here. While another change is pending (raft takes one at a time) or a leader transfer runs, it
  // retries every tick; a proposal not applied within conf_change_attempt_ticks is proposed again
  // (changes are idempotent); all until the request timeout.
  runtime::task<rpc_status> propose_conf_change(raft::ConfChange change);
  // Leader only: how far `member`'s log is known to match ours (nullopt elsewhere or unknown member).
  std::optional<raft::Index> match_index(raft::NodeId member) const;
  raft::Index last_index() const { return raft_.log().last_index(); }
  peer_wiring& wiring() { return wiring_; }

  // The peer transport's side (raft shard): how raft messages leave (must not wait; unset: a single
  // voter, nothing to send), and what arrives from other members.
  void connect_peers(std::function<void(const raft::Message& message)> send);
  void step(raft::Message&& message);
  void report_unreachable(raft::NodeId peer);
  void report_snapshot(raft::NodeId peer, raft::SnapshotStatus status);
  // Leader: asks raft to hand leadership to `member` (MoveLeader); the caller watches leader().
  void transfer_leadership(raft::NodeId member);
  bool is_voter(raft::NodeId member) const;

  raft::NodeId id() const { return raft_.id(); }
  raft::NodeId leader() const { return raft_.leader(); }
  // Notified after every turn that changed the role, the known leader or the term, and once at stop.
  runtime::condition& soft_state_changed() { return soft_state_changed_; }
  raft::Term term() const { return raft_.term(); }
  bool is_leader() const { return raft_.role() == raft::Role::kLeader; }
  raft::Index applied_index() const { return applied_index_; }
  raft::Index committed_index() const { return raft_.log().committed; }

 private:
  struct waiting_proposal {
    runtime::completion<apply_result>* done;
    std::chrono::steady_clock::time_point deadline;
  };
  struct queued_proposal {
    raft::SharedBytes payload;
    request_id_t id;
  };
  struct conf_waiter {
    raft::ConfChange change;
    runtime::completion<rpc_status>* done;
    std::chrono::steady_clock::time_point deadline;
  };
  struct read_round {
    uint64_t context = 0;
    raft::Index index = 0;  // 0 until raft answers
    std::vector<runtime::completion<rpc_status>*> waiters;
    std::chrono::steady_clock::time_point deadline;
  };

  runtime::task<void> ticker();
  runtime::task<void> await_persisted(runtime::task<void> durable, raft::PersistSeq seq);
  void persist_failed(const char* what);
  void turn();
  void propose_queued();
  void start_read_round();
  void handle_ready();
  void apply_entries(std::span<const raft::Entry> entries);
  void serve_reads();
  void expire_waiters();
  void fail_all(const rpc_status& status);

  raft::Node raft_;
  replicated_state& state_;
  log_storage& storage_;
  std::function<void(const raft::Message& message)> send_;
  raft_driver_limits limits_;
  runtime::notifier wake_;
  runtime::condition soft_state_changed_;
  bool stopping_ = false;
  bool ticker_running_ = false;
  uint32_t ticks_due_ = 0;
  size_t persists_in_flight_ = 0;
  raft::PersistSeq persisted_seq_ = 0;
  // Like etcd's WAL (raft.MustSync), a hard state whose only change is the commit index is not synced
  // on its own: it rides along with the next entries (or a tick), so a write costs one fdatasync.
  std::optional<raft::HardState> deferred_hard_state_;
  raft::HardState synced_hard_state_;        // term/vote as last handed to the WAL
  raft::PersistSeq commit_only_seq_ = 0;     // highest commit-only seq not yet marked persisted
  void mark_persisted_upto(raft::PersistSeq seq);
  void maybe_snapshot();
  runtime::task<void> take_snapshot(raft::Index index, raft::Term term, std::unique_ptr<std::string> data,
                                    snapshot_stepper stepper);
  runtime::task<void> install_durably(raft::Index index, raft::Term term, raft::SharedBytes data,
                                      std::optional<raft::HardState> hard_state, std::vector<raft::Entry> entries);
  bool installing_snapshot_ = false;  // a leader's snapshot is being made durable: no ready until then
  bool install_snapshot(const raft::Snapshot& snapshot);
  bool snapshot_in_flight_ = false;
  raft::Index snapshot_index_ = 0;                       // last snapshot made durable (or loaded)
  uint64_t snapshot_bytes_ = 0;                          // its size: the next waits for as many entry bytes
  uint64_t applied_bytes_since_snapshot_ = 0;            // entry payload bytes applied since it
  std::optional<std::pair<raft::Index, raft::SharedBytes>> compact_pending_;  // durable, raft not told yet
  void flush_deferred_hard_state();
  raft::Index applied_index_ = 0;
  request_id_t next_request_id_;

  std::deque<queued_proposal> queued_;
  std::unordered_map<request_id_t, waiting_proposal> waiting_;
  std::vector<runtime::completion<rpc_status>*> reads_queued_;
  std::deque<read_round> read_rounds_;  // in context order
  std::vector<conf_waiter> conf_waiters_;
  peer_wiring wiring_;
  void apply_conf_entry(const raft::Entry& entry);
  uint64_t next_read_context_ = 1;
};

}  // namespace ringkv::server
