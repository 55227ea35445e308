// raft/node_leader.cc: the leader's side of Node: replication with per-follower flow control, commit by
// quorum, batched ReadIndex, leader transfer, proposals, snapshots for lagging followers, membership.
// Messages are built with designated initializers; members left out keep their defaults on purpose.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <algorithm>
#include <cassert>

#include "raft/node.h"

namespace ringkv::raft {

void Node::become_leader() {
  assert(role_ == Role::kCandidate);
  reset(term_);
  role_ = Role::kLeader;
  leader_ = id_;
  set_conf(conf_);  // builds peers_ (every follower probes from our last index)
  Progress& self = self_progress();
  self.become_replicate();
  self.maybe_update(log_.stable);
  // The no-op of the new term: entries of earlier terms commit only through an entry of our own term.
  SharedBytes empty;
  append_entries_as_leader({&empty, 1}, EntryType::kNormal);
  pending_conf_index_ = log_.last_index();  // no membership change before everything up to here is applied
}

Node::Peer* Node::find_peer(NodeId id) {
  for (Peer& peer : peers_) {
    if (peer.id == id) return &peer;
  }
  return nullptr;
}

Progress& Node::self_progress() {
  Peer* self = find_peer(id_);
  assert(self != nullptr);
  return self->progress;
}

const Progress* Node::progress(NodeId follower) const {
  for (const Peer& peer : peers_) {
    if (peer.id == follower) return &peer.progress;
  }
  return nullptr;
}

void Node::append_entries_as_leader(std::span<const SharedBytes> payloads, EntryType type) {
  Index first = log_.last_index() + 1;
  for (const SharedBytes& payload : payloads) {
    log_.append(Entry{term_, log_.last_index() + 1, type, payload});
    uncommitted_bytes_ += payload.size();
  }
  if (type == EntryType::kConfChange) track_conf_entries(log_.range(first, log_.last_index()));
  append_pending_ = true;
}

bool Node::send_append(Peer& peer, bool send_if_empty) {
  Progress& pr = peer.progress;
  if (pr.paused()) return false;
  Index previous = pr.next - 1;
  std::optional<Term> previous_term = log_.term(previous);
  if (!previous_term) {
    // The follower needs entries we compacted away: send the snapshot instead.
    if (!snapshot_) return false;
    Message m{.type = MessageType::kSnapshot, .to = peer.id, .term = term_};
    m.snapshot = snapshot_;
    pr.become_snapshot(snapshot_->meta.index);
    send(std::move(m));
    return true;
  }
  uint64_t bytes = 0;
  std::span<const Entry> entries = log_.range_bytes(pr.next, config_.max_append_bytes, &bytes);
  if (entries.empty() && !send_if_empty) return false;
  Message m{.type = MessageType::kAppend,
            .to = peer.id,
            .term = term_,
            .log_term = *previous_term,
            .index = previous,
            .commit = log_.committed};
  pr.commit_sent = log_.committed;
  if (!entries.empty()) {
    m.entries.assign(entries.begin(), entries.end());
    pr.sent_entries(entries.back().index, bytes);
  }
  send(std::move(m));
  return true;
}

void Node::broadcast_append() {
  append_pending_ = false;
  for (Peer& peer : peers_) {
    if (peer.id == id_) continue;
    send_append(peer, peer.progress.commit_sent < log_.committed);
    while (send_append(peer, false)) {
    }
  }
}

void Node::broadcast_heartbeat(uint64_t read_round) {
  for (Peer& peer : peers_) {
    if (peer.id == id_) continue;
    send(Message{.type = MessageType::kHeartbeat,
                 .to = peer.id,
                 .term = term_,
                 .commit = std::min(peer.progress.match, log_.committed),
                 .context = read_round});
  }
}

bool Node::maybe_commit() {
  quorum_scratch_.clear();
  for (const Peer& peer : peers_) {
    if (!peer.progress.is_learner && is_voter(conf_, peer.id)) quorum_scratch_.push_back(peer.progress.match);
  }
  if (quorum_scratch_.empty()) return false;
  size_t quorum = quorum_scratch_.size() / 2 + 1;
  std::nth_element(quorum_scratch_.begin(), quorum_scratch_.begin() + static_cast<std::ptrdiff_t>(quorum - 1),
                   quorum_scratch_.end(), std::greater<Index>());
  Index quorum_match = quorum_scratch_[quorum - 1];
  if (quorum_match <= log_.committed || log_.term(quorum_match) != term_) return false;
  for (const Entry& entry : log_.range(std::max(log_.committed + 1, log_.first_index()), quorum_match)) {
    if (entry.term == term_) uncommitted_bytes_ -= std::min<uint64_t>(uncommitted_bytes_, entry.data.size());
  }
  log_.committed = quorum_match;
  if (!committed_in_term_) on_committed_in_term();
  maybe_leave_after_removal();
  return true;
}

void Node::on_committed_in_term() {
  committed_in_term_ = true;
  for (const ReadOnly::Request& request : reads_.waiting_commit) reads_.next_round.push_back(request);
  reads_.waiting_commit.clear();
}

bool Node::overloaded() const {
  return config_.max_uncommitted_bytes != 0 && uncommitted_bytes_ >= config_.max_uncommitted_bytes;
}

bool Node::quorum_active() const {
  size_t active = 0;
  for (const Peer& peer : peers_) {
    bool heard = peer.id == id_ || ticks_ - peer.progress.heard_tick < config_.election_ticks;
    if (is_voter(conf_, peer.id) && heard) ++active;
  }
  return active >= conf_.voters.size() / 2 + 1;
}

void Node::step_leader(Message& m) {
  switch (m.type) {
    case MessageType::kPropose: append_proposed(m); return;
    case MessageType::kReadIndex: handle_read_request(m.from, m.context); return;
    case MessageType::kTransferLeader: handle_transfer(m.context); return;
    default: break;
  }
  Peer* peer = find_peer(m.from);
  if (peer == nullptr || peer->id == id_) return;
  peer->progress.heard_tick = ticks_;
  if (m.type == MessageType::kAppendResponse) handle_append_response(m, *peer);
  if (m.type == MessageType::kHeartbeatResponse) handle_heartbeat_response(m, *peer);
}

bool Node::proposable(const ConfChange& change) const {
  // Bootstrap only ever comes from a new cluster's own start (Node's constructor), never a proposal.
  if (change.type == ConfChangeType::kBootstrap || change.node_ids.size() != 1 || change.node_ids[0] == kNoNode) {
    return false;
  }
  // The last voter cannot be removed.
  return !(change.type == ConfChangeType::kRemoveNode && conf_.voters.size() == 1 && is_voter(conf_, change.node_ids[0]));
}

void Node::append_proposed(Message& m) {
  if (transferee_ != kNoNode || m.entries.empty() || overloaded()) return;  // dropped: the proposer retries
  for (Entry& entry : m.entries) {
    if (!entry_fits(entry.data)) entry = Entry{};  // too large to be stored: a no-op, the proposer times out
    if (entry.type == EntryType::kConfChange) {
      std::optional<ConfChange> change = decode_conf_change(entry.data.span());
      if (pending_conf_index_ > log_.applied || !change || !proposable(*change)) {
        entry = Entry{};  // refused membership change becomes a no-op
      } else {
        pending_conf_index_ = log_.last_index() + 1;
      }
    }
    uncommitted_bytes_ += entry.data.size();
    log_.append(Entry{term_, log_.last_index() + 1, entry.type, std::move(entry.data)});
    if (log_.at(log_.last_index()).type == EntryType::kConfChange) {
      track_conf_entries(log_.range(log_.last_index(), log_.last_index()));
    }
  }
  append_pending_ = true;
}

void Node::handle_append_response(const Message& m, Peer& peer) {
  Progress& pr = peer.progress;
  if (m.reject) {
    Index probe_from = m.reject_hint;
    if (m.log_term > 0) probe_from = log_.find_conflict_by_term(m.reject_hint, m.log_term);
    if (pr.maybe_decrease_to(m.index, probe_from)) {
      if (pr.state == ProgressState::kReplicate) pr.become_probe();
      send_append(peer, true);
    }
    return;
  }
  if (m.index > log_.last_index()) return;  // acknowledges entries that do not exist: forged or corrupt
  bool was_paused = pr.paused();
  if (!pr.maybe_update(m.index)) return;
  switch (pr.state) {
    case ProgressState::kProbe: pr.become_replicate(); break;
    case ProgressState::kSnapshot:
      if (pr.match >= pr.pending_snapshot) {
        pr.become_probe();
        pr.become_replicate();
      }
      break;
    case ProgressState::kReplicate: pr.inflights.free_up_to(m.index); break;
  }
  if (maybe_commit()) {
    append_pending_ = true;  // followers learn the new commit index in this turn's broadcast
  } else if (was_paused || pr.next <= log_.last_index()) {
    append_pending_ = true;
  }
  if (m.from == transferee_ && pr.match == log_.last_index()) {
    send(Message{.type = MessageType::kTimeoutNow, .to = m.from, .term = term_});
  }
}

void Node::handle_heartbeat_response(const Message& m, Peer& peer) {
  Progress& pr = peer.progress;
  pr.probe_sent = false;
  if (pr.state == ProgressState::kReplicate && pr.inflights.full()) pr.inflights.free_first();
  if (pr.match < log_.last_index()) send_append(peer, true);
  if (m.context == 0 || !is_voter(conf_, m.from)) return;
  ReadOnly::Round* round = reads_.find(m.context);
  if (round == nullptr) return;
  if (std::find(round->acks.begin(), round->acks.end(), m.from) == round->acks.end()) round->acks.push_back(m.from);
  size_t self = is_voter(conf_, id_) ? 1 : 0;  // a leader that removed itself does not count
  if (round->acks.size() + self >= conf_.voters.size() / 2 + 1) {
    reads_.complete_through(m.context, [this](const ReadOnly::Request& request, Index index) {
      answer_read(request.requester, request.context, index);
    });
  }
}

void Node::answer_read(NodeId requester, uint64_t context, Index index) {
  if (requester == id_) {
    read_states_.push_back({index, context});
  } else {
    send(Message{.type = MessageType::kReadIndexResponse, .to = requester, .term = term_, .index = index, .context = context});
  }
}

void Node::handle_read_request(NodeId requester, uint64_t context) {
  if (reads_.pending() >= config_.max_pending_read_requests) return;  // dropped: the caller retries
  if (committed_in_term_) {
    reads_.next_round.push_back({requester, context});
  } else {
    reads_.waiting_commit.push_back({requester, context});
  }
}

void Node::flush_reads() {
  uint64_t round = reads_.start_round(log_.committed);
  if (round == 0) return;
  if (conf_.voters.size() == 1 && conf_.voters[0] == id_) {  // we are the quorum
    reads_.complete_through(round, [this](const ReadOnly::Request& request, Index index) {
      answer_read(request.requester, request.context, index);
    });
  } else {
    broadcast_heartbeat(round);
  }
}

void Node::handle_transfer(NodeId transferee) {
  Peer* peer = find_peer(transferee);
  if (peer == nullptr || peer->progress.is_learner || transferee == id_ || transferee == transferee_) return;
  transferee_ = transferee;
  election_elapsed_ = 0;  // the transfer must finish within one election timeout
  if (peer->progress.match == log_.last_index()) {
    send(Message{.type = MessageType::kTimeoutNow, .to = transferee, .term = term_});
  } else {
    send_append(*peer, true);
  }
}

// ---- public requests ----

ProposeResult Node::propose(std::span<const SharedBytes> payloads) {
  assert(!ready_outstanding_);
  for (const SharedBytes& payload : payloads) {
    if (!entry_fits(payload)) return {ProposeStatus::kInvalid};
  }
  if (role_ == Role::kLeader) {
    if (transferee_ != kNoNode) return {ProposeStatus::kTransferring};
    if (overloaded()) return {ProposeStatus::kOverloaded};
    ProposeResult result{ProposeStatus::kAccepted, term_, log_.last_index() + 1, log_.last_index() + payloads.size()};
    append_entries_as_leader(payloads, EntryType::kNormal);
    return result;
  }
  if (leader_ == kNoNode) return {ProposeStatus::kNoLeader};
  Message m{.type = MessageType::kPropose, .to = leader_, .term = term_};
  m.entries.reserve(payloads.size());
  for (const SharedBytes& payload : payloads) m.entries.push_back(Entry{0, 0, EntryType::kNormal, payload});
  send(std::move(m));
  return {ProposeStatus::kAccepted};
}

ProposeResult Node::propose_conf_change(const ConfChange& change) {
  assert(!ready_outstanding_);
  if (!proposable(change)) return {ProposeStatus::kInvalid};
  SharedBytes payload = encode_conf_change(change);
  if (role_ == Role::kLeader) {
    if (transferee_ != kNoNode) return {ProposeStatus::kTransferring};
    if (pending_conf_index_ > log_.applied) return {ProposeStatus::kConfChangePending};
    append_entries_as_leader({&payload, 1}, EntryType::kConfChange);
    pending_conf_index_ = log_.last_index();
    return {ProposeStatus::kAccepted, term_, log_.last_index(), log_.last_index()};
  }
  if (leader_ == kNoNode) return {ProposeStatus::kNoLeader};
  Message m{.type = MessageType::kPropose, .to = leader_, .term = term_};
  m.entries.push_back(Entry{0, 0, EntryType::kConfChange, std::move(payload)});
  send(std::move(m));
  return {ProposeStatus::kAccepted};
}

bool Node::read_index(uint64_t context) {
  assert(!ready_outstanding_);
  if (role_ == Role::kLeader) {
    handle_read_request(id_, context);
    return true;
  }
  if (leader_ == kNoNode) return false;
  send(Message{.type = MessageType::kReadIndex, .to = leader_, .term = term_, .context = context});
  return true;
}

void Node::transfer_leadership(NodeId transferee) {
  assert(!ready_outstanding_);
  if (role_ == Role::kLeader) {
    handle_transfer(transferee);
  } else if (leader_ != kNoNode && leader_ != transferee) {
    send(Message{.type = MessageType::kTransferLeader, .to = leader_, .term = term_, .context = transferee});
  }
}

void Node::report_snapshot(NodeId follower, SnapshotStatus status) {
  assert(!ready_outstanding_);
  Peer* peer = role_ == Role::kLeader ? find_peer(follower) : nullptr;
  if (peer == nullptr || peer->progress.state != ProgressState::kSnapshot) return;
  if (status == SnapshotStatus::kFailed) peer->progress.pending_snapshot = 0;
  peer->progress.become_probe();
  peer->progress.probe_sent = true;  // wait for the next heartbeat response before probing
}

void Node::report_unreachable(NodeId follower) {
  assert(!ready_outstanding_);
  Peer* peer = role_ == Role::kLeader ? find_peer(follower) : nullptr;
  if (peer != nullptr && peer->progress.state == ProgressState::kReplicate) peer->progress.become_probe();
}

bool Node::compact(Index index, SharedBytes data) {
  assert(!ready_outstanding_);
  if (index <= log_.snapshot_index() || index > log_.applied) return false;
  auto at_or_before = std::upper_bound(conf_history_.begin(), conf_history_.end(), index,
                                       [](Index i, const ConfPoint& point) { return i < point.index; });
  assert(at_or_before != conf_history_.begin());
  --at_or_before;
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->meta = SnapshotMeta{index, *log_.term(index), at_or_before->conf};
  snapshot->data = std::move(data);
  conf_history_.erase(conf_history_.begin(), at_or_before);
  snapshot_ = std::move(snapshot);
  log_.compact_to(index, snapshot_->meta.term);
  return true;
}

// ---- membership ----

void Node::track_conf_entries(std::span<const Entry> entries) {
  for (const Entry& entry : entries) {
    if (entry.type != EntryType::kConfChange || entry.index <= conf_history_.back().index) continue;
    std::optional<ConfChange> change = decode_conf_change(entry.data.span());
    if (!change) continue;  // malformed payload: a no-op, on every node alike
    conf_history_.push_back({entry.index, entry.term, apply_conf_change(conf_, *change)});
    set_conf(conf_history_.back().conf);
  }
}

void Node::untrack_truncated_conf() {
  bool reverted = false;
  while (conf_history_.size() > 1 && !log_.matches(conf_history_.back().index, conf_history_.back().term)) {
    conf_history_.pop_back();
    reverted = true;
  }
  if (reverted) set_conf(conf_history_.back().conf);
}

void Node::maybe_leave_after_removal() {
  // A leader that removed itself manages the cluster until the removal commits, then hands over.
  if (role_ != Role::kLeader || is_voter(conf_, id_) || log_.committed < conf_history_.back().index) return;
  Peer* best = nullptr;
  for (Peer& peer : peers_) {
    if (peer.id != id_ && is_voter(conf_, peer.id) && (best == nullptr || peer.progress.match > best->progress.match)) {
      best = &peer;
    }
  }
  if (best != nullptr && best->progress.match == log_.last_index()) {
    send(Message{.type = MessageType::kTimeoutNow, .to = best->id, .term = term_});
  }
  become_follower(term_, kNoNode);
}

void Node::set_conf(const ConfState& conf) {
  conf_ = conf;
  if (role_ != Role::kLeader) return;
  std::erase_if(peers_, [&](const Peer& peer) {
    return peer.id != id_ && !is_voter(conf_, peer.id) && !is_learner(conf_, peer.id);
  });
  auto track = [&](NodeId id, bool learner) {
    Peer* peer = find_peer(id);
    if (peer == nullptr) {
      peers_.push_back(Peer{id, Progress(log_.last_index() + 1, config_.max_inflight_messages,
                                         config_.max_inflight_bytes, learner)});
      peers_.back().progress.heard_tick = ticks_;  // a new member (or new leader) gets one timeout of grace
    } else {
      peer->progress.is_learner = learner;
    }
  };
  for (NodeId voter : conf_.voters) track(voter, false);
  for (NodeId learner : conf_.learners) track(learner, true);
  if (transferee_ != kNoNode && !is_voter(conf_, transferee_)) transferee_ = kNoNode;
  if (maybe_commit()) append_pending_ = true;
}

}  // namespace ringkv::raft
