// raft/node.cc: Node construction, roles, elections, the step dispatch and the ready/advance cycle.
// Replication, reads, transfer and membership (the leader's side) live in raft/node_leader.cc.
// Messages are built with designated initializers; members left out keep their defaults on purpose.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include "raft/node.h"

#include <algorithm>
#include <cassert>

namespace ringkv::raft {
namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

bool is_vote_request(MessageType type) { return type == MessageType::kVote || type == MessageType::kPreVote; }
bool is_from_leader(MessageType type) {
  return type == MessageType::kAppend || type == MessageType::kHeartbeat || type == MessageType::kSnapshot;
}

}  // namespace

const char* role_name(Role role) {
  switch (role) {
    case Role::kFollower: return "follower";
    case Role::kPreCandidate: return "pre-candidate";
    case Role::kCandidate: return "candidate";
    case Role::kLeader: return "leader";
  }
  return "?";
}

std::string Node::check(const Config& config, const PersistedState& state) {
  std::string error = config.validate();
  if (!error.empty()) return error;
  Index expected = state.snapshot ? state.snapshot->meta.index + 1 : 1;
  Term previous_term = state.snapshot ? state.snapshot->meta.term : 0;
  for (const Entry& entry : state.entries) {
    if (entry.index != expected) return "raft state: entries are not contiguous after the snapshot";
    if (entry.term < previous_term) return "raft state: entry terms decrease";
    ++expected;
    previous_term = entry.term;
  }
  Index last = expected - 1;
  if (config.applied > last) return "raft state: applied index beyond the log";
  if (state.snapshot && state.snapshot->meta.conf.voters.empty()) return "raft state: snapshot without voters";
  return {};
}

Node::Node(Config config, PersistedState state) : config_(std::move(config)), id_(config_.id) {
  [[maybe_unused]] std::string error = check(config_, state);
  assert(error.empty());
  random_state_ = splitmix64(config_.random_seed ^ splitmix64(id_));
  if (state.snapshot) {
    log_.reset_to(state.snapshot->meta.index, state.snapshot->meta.term);
    conf_ = state.snapshot->meta.conf;
    snapshot_ = std::move(state.snapshot);
  }
  for (Entry& entry : state.entries) log_.append(std::move(entry));
  log_.stable = log_.persist_handed = log_.last_index();
  term_ = state.hard_state.term;
  vote_ = state.hard_state.vote;
  handed_hard_state_ = state.hard_state;
  if (log_.last_term() > term_) {
    // Entries of a later term are durable but the hard state of that write was not (a torn write):
    // adopt the term; no vote in it was ever sent (votes wait for durability), so none is kept.
    term_ = log_.last_term();
    vote_ = kNoNode;
  }
  bool fresh = log_.last_index() == 0 && state.hard_state == HardState{};
  if (fresh && !config_.bootstrap_voters.empty()) {
    // A new cluster: every initial member writes the same bootstrap entry at (index 1, term 1).
    ConfChange bootstrap{ConfChangeType::kBootstrap, config_.bootstrap_voters};
    log_.append(Entry{1, 1, EntryType::kConfChange, encode_conf_change(bootstrap)});
    term_ = 1;
    log_.committed = 1;
  } else {
    log_.committed = std::min(std::max({state.hard_state.commit, config_.applied, log_.committed}), log_.last_index());
  }
  log_.applied = std::max(log_.snapshot_index(), std::min(config_.applied, log_.committed));
  conf_history_.push_back({log_.snapshot_index(), log_.snapshot_term(), conf_});
  track_conf_entries(log_.range(log_.first_index(), log_.last_index()));
  become_follower(term_, kNoNode);
}

// ---- roles ----

void Node::reset(Term term) {
  if (term != term_) {
    term_ = term;
    vote_ = kNoNode;
  }
  leader_ = kNoNode;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  reset_randomized_timeout();
  transferee_ = kNoNode;
  votes_.clear();
  peers_.clear();
  reads_.clear();
  committed_in_term_ = false;
  append_pending_ = false;
  pending_conf_index_ = 0;
  uncommitted_bytes_ = 0;
}

void Node::reset_randomized_timeout() {
  random_state_ ^= random_state_ << 13;
  random_state_ ^= random_state_ >> 7;
  random_state_ ^= random_state_ << 17;
  randomized_election_ticks_ = config_.election_ticks + static_cast<uint32_t>(random_state_ % config_.election_ticks);
}

void Node::become_follower(Term term, NodeId leader) {
  reset(term);
  role_ = Role::kFollower;
  leader_ = leader;
}

void Node::become_pre_candidate() {
  // No term or vote change: a pre-vote round must not disturb anyone.
  role_ = Role::kPreCandidate;
  leader_ = kNoNode;
  votes_.clear();
}

void Node::become_candidate() {
  reset(term_ + 1);
  role_ = Role::kCandidate;
  vote_ = id_;
}

bool Node::promotable() const { return is_voter(conf_, id_) && pending_snapshot_ == nullptr; }

void Node::campaign() {
  assert(!ready_outstanding_);
  campaign_now(false, false);
}

void Node::campaign_now(bool pre_vote, bool transfer) {
  if (!promotable() || role_ == Role::kLeader) return;
  MessageType request;
  Term vote_term;
  if (pre_vote) {
    become_pre_candidate();
    request = MessageType::kPreVote;
    vote_term = term_ + 1;
  } else {
    become_candidate();
    request = MessageType::kVote;
    vote_term = term_;
  }
  for (NodeId voter : conf_.voters) {
    if (voter == id_) continue;
    Message m{.type = request, .to = voter, .term = vote_term, .log_term = log_.last_term(), .index = log_.last_index()};
    if (transfer) m.context = kCampaignTransferContext;
    send(std::move(m));
  }
  if (pre_vote) {
    Message self{.type = MessageType::kPreVoteResponse, .from = id_, .to = id_, .term = vote_term};
    handle_vote_response(self);  // a pre-vote for oneself needs nothing durable
  } else {
    // The vote for oneself counts once the new term and vote are durable.
    assert(dirty());
    send(Message{.type = MessageType::kVoteResponse, .to = id_, .term = term_});
  }
}

void Node::tick() {
  assert(!ready_outstanding_);
  ++ticks_;
  if (role_ == Role::kLeader) {
    tick_heartbeat();
  } else {
    tick_election();
  }
}

void Node::tick_election() {
  ++election_elapsed_;
  if (promotable() && election_elapsed_ >= randomized_election_ticks_) {
    election_elapsed_ = 0;
    campaign_now(config_.pre_vote, false);
  }
}

void Node::tick_heartbeat() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (config_.check_quorum && !quorum_active()) {
    become_follower(term_, kNoNode);  // a quorum has been silent for an election timeout: stop leading
    return;
  }
  if (election_elapsed_ >= config_.election_ticks) {
    election_elapsed_ = 0;
    transferee_ = kNoNode;  // a transfer that did not finish within an election timeout is abandoned
  }
  if (heartbeat_elapsed_ >= config_.heartbeat_ticks) {
    heartbeat_elapsed_ = 0;
    broadcast_heartbeat(0);
  }
}

// ---- step ----

void Node::step(Message m) {
  assert(!ready_outstanding_);
  if (m.to != id_ || m.from == kNoNode || static_cast<uint8_t>(m.type) >= kMessageTypeCount) return;
  if (!acceptable(m) || !step_term(m)) return;
  if (is_vote_request(m.type)) {
    handle_vote_request(m);
    return;
  }
  switch (role_) {
    case Role::kLeader: step_leader(m); break;
    case Role::kPreCandidate:
    case Role::kCandidate: step_candidate(m); break;
    case Role::kFollower: step_follower(m); break;
  }
}

bool Node::entry_fits(const SharedBytes& payload) const {
  return config_.max_entry_bytes == 0 || payload.size() <= config_.max_entry_bytes;
}

bool Node::acceptable(const Message& m) const {
  if (m.type == MessageType::kAppend) {
    for (const Entry& entry : m.entries) {
      if (!entry_fits(entry.data)) return false;
    }
  }
  if (m.type == MessageType::kSnapshot && m.snapshot && config_.accept_snapshot) return config_.accept_snapshot(*m.snapshot);
  return true;
}

bool Node::step_term(Message& m) {
  if (m.type == MessageType::kPropose || m.type == MessageType::kReadIndex || m.type == MessageType::kTransferLeader) {
    return true;  // requests between members, valid in any term
  }
  if (m.term > term_) {
    if (m.term - term_ > kTermAdvanceMax || m.term >= kTermCeiling) return false;  // forged or corrupt
    if (is_vote_request(m.type)) {
      bool forced = m.context == kCampaignTransferContext;
      bool in_lease = config_.check_quorum && leader_ != kNoNode && election_elapsed_ < config_.election_ticks;
      if (!forced && in_lease) return false;  // we hear from a live leader: do not let it be disrupted
    }
    if (m.type == MessageType::kPreVote) return true;  // never changes our term
    if (m.type == MessageType::kPreVoteResponse && !m.reject) return true;  // granted for our future term
    become_follower(m.term, is_from_leader(m.type) ? m.from : kNoNode);
    return true;
  }
  if (m.term < term_) {
    if ((config_.check_quorum || config_.pre_vote) &&
        (m.type == MessageType::kHeartbeat || m.type == MessageType::kAppend)) {
      // A stale leader (e.g. across a healed partition) learns our term and steps down.
      send(Message{.type = MessageType::kAppendResponse, .to = m.from, .term = term_, .reject = true});
    } else if (is_vote_request(m.type)) {
      // Tell a stale candidate our term. It may not hear from us otherwise (e.g. when our configurations
      // do not name each other), and would keep campaigning in terms nobody answers.
      MessageType response =
          m.type == MessageType::kVote ? MessageType::kVoteResponse : MessageType::kPreVoteResponse;
      send(Message{.type = response, .to = m.from, .term = term_, .reject = true});
    }
    return false;
  }
  return true;
}

void Node::handle_vote_request(const Message& m) {
  bool can_vote = vote_ == m.from || (vote_ == kNoNode && leader_ == kNoNode) ||
                  (m.type == MessageType::kPreVote && m.term > term_);
  MessageType response = m.type == MessageType::kVote ? MessageType::kVoteResponse : MessageType::kPreVoteResponse;
  if (can_vote && log_.is_up_to_date(m.index, m.log_term)) {
    if (m.type == MessageType::kVote) {
      election_elapsed_ = 0;
      vote_ = m.from;
    }
    send(Message{.type = response, .to = m.from, .term = m.term});
  } else {
    send(Message{.type = response, .to = m.from, .term = term_, .reject = true});
  }
}

void Node::handle_vote_response(const Message& m) {
  MessageType expected = role_ == Role::kPreCandidate ? MessageType::kPreVoteResponse : MessageType::kVoteResponse;
  if (m.type != expected || !is_voter(conf_, m.from)) return;
  bool known = std::any_of(votes_.begin(), votes_.end(), [&](const auto& vote) { return vote.first == m.from; });
  if (!known) votes_.push_back({m.from, !m.reject});
  size_t granted = std::count_if(votes_.begin(), votes_.end(), [](const auto& vote) { return vote.second; });
  size_t quorum = conf_.voters.size() / 2 + 1;
  if (granted >= quorum) {
    if (role_ == Role::kPreCandidate) {
      campaign_now(false, false);
    } else {
      become_leader();
    }
  } else if (votes_.size() - granted > conf_.voters.size() - quorum) {
    become_follower(term_, kNoNode);  // a quorum said no
  }
}

void Node::step_candidate(Message& m) {
  if (is_from_leader(m.type)) {
    become_follower(term_, m.from);  // someone won this term
    step_follower(m);
  } else if (m.type == MessageType::kVoteResponse || m.type == MessageType::kPreVoteResponse) {
    handle_vote_response(m);
  }
  // Proposals and reads are dropped: there is no leader to serve them.
}

void Node::step_follower(Message& m) {
  if (is_from_leader(m.type)) {
    election_elapsed_ = 0;
    leader_ = m.from;
  }
  switch (m.type) {
    case MessageType::kAppend: handle_append(m); break;
    case MessageType::kHeartbeat: handle_heartbeat(m); break;
    case MessageType::kSnapshot: handle_snapshot(m); break;
    case MessageType::kTimeoutNow: campaign_now(false, true); break;
    case MessageType::kReadIndexResponse: read_states_.push_back({m.index, m.context}); break;
    default: break;  // requests from other followers are not relayed; stale responses are ignored
  }
}

void Node::handle_append(Message& m) {
  if (m.index < log_.committed) {
    send(Message{.type = MessageType::kAppendResponse, .to = m.from, .term = term_, .index = log_.committed});
    return;
  }
  if (std::optional<Index> last_new = log_.maybe_append(m.index, m.log_term, m.entries)) {
    untrack_truncated_conf();
    if (*last_new > m.index) track_conf_entries(log_.range(m.index + 1, *last_new));
    log_.committed = std::max(log_.committed, std::min(m.commit, *last_new));
    send(Message{.type = MessageType::kAppendResponse, .to = m.from, .term = term_, .index = *last_new});
    return;
  }
  Index hint = log_.find_conflict_by_term(std::min(m.index, log_.last_index()), m.log_term);
  send(Message{.type = MessageType::kAppendResponse,
               .to = m.from,
               .term = term_,
               .log_term = log_.term(hint).value_or(0),
               .index = m.index,
               .reject_hint = hint,
               .reject = true});
}

void Node::handle_heartbeat(const Message& m) {
  log_.committed = std::max(log_.committed, std::min(m.commit, log_.last_index()));
  send(Message{.type = MessageType::kHeartbeatResponse, .to = m.from, .term = term_, .context = m.context});
}

void Node::handle_snapshot(const Message& m) {
  if (!m.snapshot) return;
  const SnapshotMeta& meta = m.snapshot->meta;
  if (meta.index > log_.committed && !log_.matches(meta.index, meta.term)) {
    log_.reset_to(meta.index, meta.term);
    conf_history_.assign(1, {meta.index, meta.term, meta.conf});
    set_conf(meta.conf);
    snapshot_ = m.snapshot;
    pending_snapshot_ = m.snapshot;
  } else if (meta.index > log_.committed) {
    log_.committed = meta.index;  // we already hold the snapshot's entries
  }
  send(Message{.type = MessageType::kAppendResponse, .to = m.from, .term = term_, .index = log_.committed});
}

// ---- output ----

bool Node::dirty() const {
  return term_ != handed_hard_state_.term || vote_ != handed_hard_state_.vote ||
         log_.persist_handed < log_.last_index() || pending_snapshot_ != nullptr;
}

void Node::send(Message m) {
  m.from = id_;
  bool vouches = m.type == MessageType::kAppendResponse || m.type == MessageType::kVoteResponse || m.to == id_;
  if (vouches) {
    PersistSeq after = dirty() ? last_seq_ + 1 : last_seq_;
    if (after > persisted_seq_) {
      held_.push_back({after, std::move(m)});
      return;
    }
    assert(m.to != id_);
  }
  outgoing_.push_back(std::move(m));
}

void Node::release_held() {
  size_t released = 0;
  while (released < held_.size() && held_[released].after <= persisted_seq_) ++released;
  if (released == 0) return;
  std::vector<HeldMessage> ready_now(std::make_move_iterator(held_.begin()),
                                     std::make_move_iterator(held_.begin() + static_cast<std::ptrdiff_t>(released)));
  held_.erase(held_.begin(), held_.begin() + static_cast<std::ptrdiff_t>(released));
  for (HeldMessage& held : ready_now) {
    if (held.message.to == id_) {
      step(std::move(held.message));
    } else {
      outgoing_.push_back(std::move(held.message));
    }
  }
}

void Node::mark_persisted(PersistSeq seq) {
  assert(!ready_outstanding_);
  assert(seq <= last_seq_);
  if (seq <= persisted_seq_) return;
  persisted_seq_ = seq;
  while (!log_.persist_records.empty() && log_.persist_records.front().seq <= seq) {
    log_.stable = std::max(log_.stable, log_.persist_records.front().last);
    log_.persist_records.pop_front();
  }
  if (role_ == Role::kLeader && self_progress().maybe_update(log_.stable) && maybe_commit()) append_pending_ = true;
  release_held();
}

bool Node::has_ready() const {
  bool leader_work = role_ == Role::kLeader && (append_pending_ || !reads_.next_round.empty());
  return leader_work || hard_state() != handed_hard_state_ || pending_snapshot_ ||
         log_.persist_handed < log_.last_index() || !outgoing_.empty() || !read_states_.empty() ||
         std::min(log_.committed, log_.stable) > log_.applied;
}

Ready Node::ready() {
  assert(!ready_outstanding_);
  if (role_ == Role::kLeader) {
    flush_reads();
    if (append_pending_) broadcast_append();
  }
  Ready rd;
  HardState current = hard_state();
  if (current != handed_hard_state_) rd.hard_state = current;
  rd.snapshot = std::move(pending_snapshot_);
  pending_snapshot_.reset();
  if (log_.persist_handed < log_.last_index()) rd.entries = log_.range(log_.persist_handed + 1, log_.last_index());
  bool term_or_vote_changed = current.term != handed_hard_state_.term || current.vote != handed_hard_state_.vote;
  if (term_or_vote_changed || rd.snapshot || !rd.entries.empty()) {
    rd.persist_seq = ++last_seq_;  // must be made durable (synced) and reported
    log_.persist_records.push_back({rd.persist_seq, log_.last_index()});
    log_.persist_handed = log_.last_index();
  }
  handed_hard_state_ = current;  // a commit-only change is written without a sync and never reported
  rd.messages.swap(outgoing_);
  outgoing_.swap(outgoing_spare_);
  Index apply_to = std::min(log_.committed, log_.stable);
  ready_applied_to_ = std::max(apply_to, log_.applied);
  if (apply_to > log_.applied) rd.committed_entries = log_.range(log_.applied + 1, apply_to);
  rd.read_states.swap(read_states_);
  read_states_.swap(read_states_spare_);
  ready_outstanding_ = true;
  return rd;
}

void Node::advance(Ready& rd) {
  assert(ready_outstanding_);
  ready_outstanding_ = false;
  log_.applied = ready_applied_to_;
  rd.messages.clear();
  if (outgoing_spare_.capacity() < rd.messages.capacity()) outgoing_spare_.swap(rd.messages);
  rd.read_states.clear();
  if (read_states_spare_.capacity() < rd.read_states.capacity()) read_states_spare_.swap(rd.read_states);
  rd.entries = {};
  rd.committed_entries = {};
}

}  // namespace ringkv::raft
