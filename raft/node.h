// raft/node.h: Node, one member of a raft group as a pure, deterministic state machine.
//
// Inputs:  tick(), step(message), propose(payloads), propose_conf_change(change), read_index(context),
//          transfer_leadership(to), report_snapshot(...), mark_persisted(seq), compact(index, data).
// Outputs: ready() -> Ready, acknowledged by advance(ready).
//
// The caller's loop (one turn; see docs/architecture.md "## raft" for the full contract):
//
//   Ready rd = node.ready();
//   1. if rd.snapshot: persist it, then load it into the state machine (before applying anything)
//   2. start persisting rd.hard_state (if set) and rd.entries (replacing stored entries at and after
//      rd.entries[0].index) -- asynchronously is fine
//   3. send rd.messages now (none of them depends on unpersisted state)
//   4. apply rd.committed_entries in order; serve rd.read_states once applied >= their index
//   5. node.advance(rd)      (spans in rd are valid until here; no other call in between)
//   later, when the write of step 2 is durable: node.mark_persisted(rd.persist_seq)
//
// Durability: responses that vouch for local state (append acks, votes) and the leader's own vote for
// itself are held inside the node until mark_persisted covers the state they vouch for; they then
// appear in a later ready(). The leader counts its own log toward the commit quorum only through its
// durable (stable) index, so appends reach followers while its own WAL write runs:
//
//   leader                       follower
//     | propose -> ready{entries, msgs: Append}
//     |---- Append ----------------->|  ready{entries}; ack held until durable
//     | WAL write ...                | WAL write ...
//     | mark_persisted (self ack)    | mark_persisted -> ready{msgs: AppendResponse}
//     |<--------------- AppendResponse|
//     | quorum durable -> commit -> ready{committed_entries}
//
// Committed entries are handed out only once durable locally (applied <= min(committed, stable)).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "raft/config.h"
#include "raft/conf_change.h"
#include "raft/log.h"
#include "raft/progress.h"
#include "raft/read_only.h"
#include "raft/types.h"

namespace ringkv::raft {

enum class Role : uint8_t { kFollower, kPreCandidate, kCandidate, kLeader };
const char* role_name(Role role);

using PersistSeq = uint64_t;

enum class ProposeStatus : uint8_t {
  kAccepted,           // appended (leader) or forwarded to the leader (follower; may still be lost)
  kNoLeader,           // no leader known: retry later
  kTransferring,       // a leader transfer is in progress: retry later
  kConfChangePending,  // a membership change is still being applied: retry later
  kInvalid,            // malformed request (e.g. empty conf change)
  kOverloaded,         // the uncommitted backlog is at max_uncommitted_bytes: retry later
};

struct ProposeResult {
  ProposeStatus status = ProposeStatus::kNoLeader;
  Term term = 0;          // leader only: the term of the appended entries
  Index first_index = 0;  // leader only: indexes assigned to the payloads, in order
  Index last_index = 0;
};

enum class SnapshotStatus : uint8_t { kFinished, kFailed };

// Everything one turn of the caller's loop has to do. Spans point into the node: valid until advance().
struct Ready {
  std::optional<HardState> hard_state;          // persist (changed since the last ready); if persist_seq
                                                 // is 0 only the commit index changed: no sync needed
  std::shared_ptr<const Snapshot> snapshot;      // persist, then load into the state machine
  std::span<const Entry> entries;                // persist, after the snapshot
  std::vector<Message> messages;                 // send
  std::span<const Entry> committed_entries;      // apply, in order
  std::vector<ReadState> read_states;            // serve once applied >= index
  PersistSeq persist_seq = 0;                    // non-zero: sync the write, then mark_persisted(it)
  bool empty() const {
    return !hard_state && !snapshot && entries.empty() && messages.empty() && committed_entries.empty() &&
           read_states.empty();
  }
};

// What the caller loaded from its disk at start: the last durable hard state, snapshot and entries
// following the snapshot.
struct PersistedState {
  HardState hard_state;
  std::shared_ptr<const Snapshot> snapshot;
  std::vector<Entry> entries;
};

class Node {
 public:
  // Empty if `config` and `state` can start a node, else what is wrong (the constructor asserts it).
  static std::string check(const Config& config, const PersistedState& state);
  Node(Config config, PersistedState state);
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  void tick();
  void step(Message message);
  ProposeResult propose(std::span<const SharedBytes> payloads);
  ProposeResult propose_conf_change(const ConfChange& change);
  // Asks for a linearizable read point; the answer arrives as a ReadState with the same context
  // (or never, if leadership changes first: the caller retries after a timeout). False: no leader known.
  bool read_index(uint64_t context);
  void transfer_leadership(NodeId transferee);
  void campaign();  // start an election now (skips PreVote), if this node may vote
  void report_snapshot(NodeId follower, SnapshotStatus status);
  void report_unreachable(NodeId follower);
  // The application snapshotted its state machine at `index` (<= applied): drop the log up to it and
  // send `data` to followers that fall behind it. False if `index` is out of range.
  bool compact(Index index, SharedBytes data);

  bool has_ready() const;
  Ready ready();
  void advance(Ready& ready);
  void mark_persisted(PersistSeq seq);

  NodeId id() const { return id_; }
  NodeId leader() const { return leader_; }
  Role role() const { return role_; }
  Term term() const { return term_; }
  HardState hard_state() const { return {term_, vote_, log_.committed}; }
  const RaftLog& log() const { return log_; }
  const ConfState& conf() const { return conf_; }
  bool entry_fits(const SharedBytes& payload) const;  // within Config::max_entry_bytes (else never proposed)
  const Progress* progress(NodeId follower) const;
  NodeId transferee() const { return transferee_; }
  std::shared_ptr<const Snapshot> snapshot() const { return snapshot_; }
  size_t held_messages() const { return held_.size(); }  // waiting for mark_persisted
  PersistSeq persisted_seq() const { return persisted_seq_; }
  PersistSeq last_persist_seq() const { return last_seq_; }

 private:
  struct Peer {
    NodeId id;
    Progress progress;
  };
  struct HeldMessage {
    PersistSeq after;  // released once persisted_seq_ >= after
    Message message;
  };

  // Roles.
  void become_follower(Term term, NodeId leader);
  void become_pre_candidate();
  void become_candidate();
  void become_leader();
  void reset(Term term);
  void campaign_now(bool pre_vote, bool transfer);
  void tick_election();
  void tick_heartbeat();
  bool promotable() const;
  void reset_randomized_timeout();

  // Steps.
  void step_leader(Message& m);
  void step_candidate(Message& m);
  void step_follower(Message& m);
  bool acceptable(const Message& m) const;  // false: what it carries cannot be stored or applied (Config)
  bool step_term(Message& m);  // false: drop the message
  void handle_vote_request(const Message& m);
  void handle_vote_response(const Message& m);
  void handle_append(Message& m);
  void handle_heartbeat(const Message& m);
  void handle_snapshot(const Message& m);
  void handle_append_response(const Message& m, Peer& peer);
  void handle_heartbeat_response(const Message& m, Peer& peer);
  void handle_read_request(NodeId requester, uint64_t context);
  void handle_transfer(NodeId transferee);
  void append_proposed(Message& m);
  bool proposable(const ConfChange& change) const;  // what a leader accepts to append (local or forwarded)
  void answer_read(NodeId requester, uint64_t context, Index index);

  // Replication.
  Peer* find_peer(NodeId id);
  Progress& self_progress();
  bool send_append(Peer& peer, bool send_if_empty);
  void broadcast_append();
  void broadcast_heartbeat(uint64_t read_round);
  bool maybe_commit();
  void append_entries_as_leader(std::span<const SharedBytes> payloads, EntryType type);
  bool quorum_active() const;
  bool overloaded() const;
  void on_committed_in_term();

  // Membership.
  void track_conf_entries(std::span<const Entry> entries);  // newly appended entries
  void untrack_truncated_conf();                              // after a conflict truncated the log
  void maybe_leave_after_removal();
  void set_conf(const ConfState& conf);

  // Output.
  void send(Message m);
  bool dirty() const;
  void release_held();
  void flush_reads();

  Config config_;
  NodeId id_;
  Role role_ = Role::kFollower;
  Term term_ = 0;
  NodeId vote_ = kNoNode;
  NodeId leader_ = kNoNode;
  RaftLog log_;
  ConfState conf_;
  Index pending_conf_index_ = 0;      // leader: no new conf change until applied >= this
  // Membership is the latest configuration in the log, committed or not (Raft dissertation 4.1):
  // conf_ == conf_history_.back().conf. The first element is the snapshot's configuration; the others
  // are the conf change entries still in the log (popped again if a conflict truncates them).
  struct ConfPoint {
    Index index;
    Term term;
    ConfState conf;
  };
  std::vector<ConfPoint> conf_history_;
  std::vector<Peer> peers_;           // progress of every voter and learner (leader only; self included)
  std::vector<Index> quorum_scratch_;

  uint64_t ticks_ = 0;                // every tick() so far (CheckQuorum measures silence with it)
  uint32_t election_elapsed_ = 0;
  uint32_t heartbeat_elapsed_ = 0;
  uint32_t randomized_election_ticks_ = 0;
  uint64_t random_state_ = 0;

  std::vector<std::pair<NodeId, bool>> votes_;  // candidate: (voter, granted)
  NodeId transferee_ = kNoNode;
  bool committed_in_term_ = false;    // leader: an entry of its term is committed
  bool append_pending_ = false;       // leader: new entries or commit not yet broadcast
  uint64_t uncommitted_bytes_ = 0;    // leader: payload bytes appended in its term and not yet committed
  ReadOnly reads_;

  std::shared_ptr<const Snapshot> snapshot_;           // latest snapshot (compaction or installed)
  std::shared_ptr<const Snapshot> pending_snapshot_;   // installed, not yet handed out

  std::vector<Message> outgoing_;
  std::vector<Message> outgoing_spare_;   // recycled by advance(): no allocation per ready
  std::vector<ReadState> read_states_;
  std::vector<ReadState> read_states_spare_;
  std::vector<HeldMessage> held_;         // ordered by `after`
  HardState handed_hard_state_;
  PersistSeq last_seq_ = 0;
  PersistSeq persisted_seq_ = 0;
  bool ready_outstanding_ = false;
  Index ready_applied_to_ = 0;
};

}  // namespace ringkv::raft
