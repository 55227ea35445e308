// tests/raft/sim/cluster.cc: the simulated cluster: network, disks, faults, clients and invariant checks.
#include "tests/raft/sim/cluster.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <deque>
#include <sstream>

namespace ringkv::raft::sim {
namespace {

constexpr uint32_t kNodesExtraMax = 4;          // membership changes add at most this many new nodes
constexpr uint32_t kDriveRoundsMax = 1000;      // ready() rounds per drive before we call it a livelock
constexpr Index kCompactLagMin = 16;            // compact only when this many applied entries are in the log

uint64_t hash_bytes(std::span<const uint8_t> bytes, uint64_t seed) {
  uint64_t h = 1469598103934665603ull ^ seed;
  for (uint8_t b : bytes) h = (h ^ b) * 1099511628211ull;
  return h;
}

uint64_t entry_hash(const Entry& e) { return hash_bytes(e.data.span(), static_cast<uint64_t>(e.type) + 1); }

uint64_t chain_hash(uint64_t chain, const Entry& e) {
  return (chain ^ entry_hash(e)) * 0x9e3779b97f4a7c15ull + e.term;
}

// The simulated state machine's snapshot: (applied index, chain hash).
SharedBytes encode_machine(Index applied, uint64_t chain) {
  SharedBytes bytes = SharedBytes::allocate(16);
  std::memcpy(bytes.mutable_data(), &applied, 8);
  std::memcpy(bytes.mutable_data() + 8, &chain, 8);
  return bytes;
}
void decode_machine(const SharedBytes& bytes, Index* applied, uint64_t* chain) {
  assert(bytes.size() == 16);
  std::memcpy(applied, bytes.data(), 8);
  std::memcpy(chain, bytes.data() + 8, 8);
}

}  // namespace

struct Cluster::SimNode {
  NodeId id = kNoNode;
  bool initial = false;
  std::unique_ptr<Node> raft;  // null while crashed
  uint32_t incarnation = 0;
  MemoryDisk disk;  // what survives a crash
  std::deque<Write> writes;  // in flight, complete in order
  // The state machine (in memory, rebuilt from the snapshot at restart).
  Index applied = 0;
  uint64_t chain = 0;
  Term checked_leader_term = 0;
};

Cluster::Cluster(Options options) : options_(options), random_state_(options.seed * 0x9e3779b97f4a7c15ull + 1) {
  next_node_id_ = options_.nodes + 1;
  for (NodeId id = 1; id <= options_.nodes; ++id) create_node(id, true);
}

Cluster::~Cluster() = default;

uint64_t Cluster::random() {
  random_state_ ^= random_state_ << 13;
  random_state_ ^= random_state_ >> 7;
  random_state_ ^= random_state_ << 17;
  return random_state_;
}
bool Cluster::chance(double p) { return static_cast<double>(random() % 1000000) < p * 1000000.0; }
uint64_t Cluster::uniform(uint64_t low, uint64_t high) { return low + random() % (high - low + 1); }

void Cluster::trace(const std::string& line) {
  if (options_.trace) std::printf("[t=%llu] %s\n", static_cast<unsigned long long>(now_), line.c_str());
}

void Cluster::fail(const std::string& what) {
  if (!failure_.empty()) return;
  std::ostringstream out;
  out << "t=" << now_ << ": " << what;
  failure_ = out.str();
  trace("FAIL " + failure_);
}

Cluster::SimNode* Cluster::find(NodeId id) {
  for (auto& node : nodes_) {
    if (node->id == id) return node.get();
  }
  return nullptr;
}

Cluster::SimNode* Cluster::current_leader() {
  SimNode* best = nullptr;
  for (auto& node : nodes_) {
    if (node->raft && node->raft->role() == Role::kLeader && (!best || node->raft->term() > best->raft->term())) {
      best = node.get();
    }
  }
  return best;
}

Cluster::SimNode& Cluster::create_node(NodeId id, bool initial) {
  auto node = std::make_unique<SimNode>();
  node->id = id;
  node->initial = initial;
  nodes_.push_back(std::move(node));
  restart(*nodes_.back());
  return *nodes_.back();
}

void Cluster::restart(SimNode& node) {
  Config config;
  config.id = node.id;
  config.random_seed = options_.seed * 7919 + node.incarnation++;
  config.max_inflight_messages = 8;   // small windows and appends exercise flow control
  config.max_append_bytes = 256;
  config.max_uncommitted_bytes = 1024;
  config.pre_vote = options_.pre_vote;
  config.check_quorum = options_.check_quorum;  // backpressure: clients cannot outrun replication forever
  if (node.initial) {
    for (NodeId id = 1; id <= options_.nodes; ++id) config.bootstrap_voters.push_back(id);
  }
  PersistedState state = node.disk.load();
  std::string error = Node::check(config, state);
  if (!error.empty()) {
    fail("node " + std::to_string(node.id) + " cannot restart from its disk: " + error);
    return;
  }
  node.raft = std::make_unique<Node>(config, std::move(state));
  node.applied = 0;
  node.chain = 0;
  if (node.disk.snapshot) decode_machine(node.disk.snapshot->data, &node.applied, &node.chain);
  node.checked_leader_term = 0;
  trace("start node " + std::to_string(node.id));
}

void Cluster::crash(SimNode& node) {
  trace("crash node " + std::to_string(node.id) + " (" + std::to_string(node.writes.size()) + " writes lost)");
  if (!node.writes.empty() && chance(0.5)) {
    // A torn write: part of the oldest in-flight write reached the disk. A snapshot file is all or
    // nothing; entries follow it; the hard state record may come first or last in the write.
    Write torn = node.writes.front();
    size_t entries_total = torn.entries.size();
    if (torn.snapshot && chance(0.5)) torn.snapshot.reset();
    torn.entries.resize(torn.snapshot || !node.writes.front().snapshot ? uniform(0, entries_total) : 0);
    bool hard_state_first = chance(0.5);
    if (!hard_state_first && torn.entries.size() < entries_total) torn.hard_state.reset();
    if (!node.disk.apply(torn)) fail("torn write left a gap on node " + std::to_string(node.id));
  }
  node.raft.reset();
  node.writes.clear();
  std::erase_if(pending_reads_, [&](const auto& read) { return read.second.node == node.id; });
}

bool Cluster::blocked(NodeId from, NodeId to) const { return blocked_links_.count({from, to}) != 0; }

void Cluster::send(const Message& m) {
  int copies = faults_enabled_ && chance(options_.duplicate_rate) ? 2 : 1;
  for (int i = 0; i < copies; ++i) {
    network_.push(InFlight{now_ + uniform(1, options_.message_delay_max), message_order_++, m});
  }
}

void Cluster::deliver_due() {
  while (!network_.empty() && network_.top().deliver_at <= now_ && failure_.empty()) {
    Message m = network_.top().message;
    network_.pop();
    SimNode* target = find(m.to);
    bool lost = target == nullptr || !target->raft || blocked(m.from, m.to) ||
                (faults_enabled_ && chance(options_.drop_rate));
    MessageType type = m.type;
    NodeId from = m.from, to = m.to;
    if (!lost) {
      target->raft->step(std::move(m));
      drive(*target);
    }
    if (type == MessageType::kSnapshot) {  // the transport reports how the snapshot went
      SimNode* sender = find(from);
      if (sender != nullptr && sender->raft) {
        sender->raft->report_snapshot(to, lost ? SnapshotStatus::kFailed : SnapshotStatus::kFinished);
        drive(*sender);
      }
    }
  }
}

void Cluster::complete_writes(SimNode& node) {
  while (node.raft && !node.writes.empty() && node.writes.front().done_at <= now_) {
    Write write = std::move(node.writes.front());
    node.writes.pop_front();
    if (!node.disk.apply(write)) {
      fail("node " + std::to_string(node.id) + " was asked to persist entries with a gap at " +
           std::to_string(write.entries.front().index));
      return;
    }
    node.raft->mark_persisted(write.seq);
    drive(node);
  }
}

void Cluster::drive(SimNode& node) {
  for (uint32_t round = 0; node.raft && node.raft->has_ready() && failure_.empty(); ++round) {
    if (round == kDriveRoundsMax) {
      fail("node " + std::to_string(node.id) + " never runs out of ready work");
      return;
    }
    Ready rd = node.raft->ready();
    handle_ready(node, rd);
    node.raft->advance(rd);
  }
}

void Cluster::handle_ready(SimNode& node, Ready& rd) {
  check_entries(node, rd.entries);
  if (rd.persist_seq != 0) {
    Write write = Write::of(rd);
    write.done_at = now_ + uniform(0, options_.disk_delay_max);
    if (!node.writes.empty()) write.done_at = std::max(write.done_at, node.writes.back().done_at);
    node.writes.push_back(std::move(write));
  }
  if (rd.snapshot) {
    decode_machine(rd.snapshot->data, &node.applied, &node.chain);
    auto known = chain_.find(node.applied);
    if (known != chain_.end() && known->second.chain != node.chain) {
      fail("node " + std::to_string(node.id) + " installed a snapshot that disagrees with the applied history");
    }
    trace("node " + std::to_string(node.id) + " installs snapshot at " + std::to_string(node.applied));
  }
  for (const Message& m : rd.messages) send(m);
  for (const Entry& e : rd.committed_entries) apply(node, e);
  for (const ReadState& read : rd.read_states) {
    auto pending = pending_reads_.find(read.context);
    if (pending == pending_reads_.end()) continue;  // e.g. answered twice through a duplicated message
    if (read.index < pending->second.committed_before) {
      fail("read " + std::to_string(read.context) + " at node " + std::to_string(node.id) + " got read index " +
           std::to_string(read.index) + " but index " + std::to_string(pending->second.committed_before) +
           " was committed before it started (stale read)");
    }
    pending_reads_.erase(pending);
    ++reads_completed_;
  }
}

void Cluster::apply(SimNode& node, const Entry& e) {
  if (e.index != node.applied + 1) {
    fail("node " + std::to_string(node.id) + " applies " + std::to_string(e.index) + " after " + std::to_string(node.applied));
    return;
  }
  node.applied = e.index;
  node.chain = chain_hash(node.chain, e);
  auto [it, inserted] = chain_.try_emplace(e.index, AppliedFacts{e.term, node.chain, term_max_});
  if (!inserted && (it->second.term != e.term || it->second.chain != node.chain)) {
    fail("state machine safety: node " + std::to_string(node.id) + " applied a different entry at index " +
         std::to_string(e.index));
  }
}

void Cluster::check_entries(SimNode& node, std::span<const Entry> entries) {
  for (const Entry& e : entries) {
    std::optional<Term> previous = e.index == 1 ? std::optional<Term>(0) : node.raft->log().term(e.index - 1);
    if (!previous) {
      fail("node " + std::to_string(node.id) + " persists entry " + std::to_string(e.index) + " without its predecessor");
      return;
    }
    EntryFacts facts{entry_hash(e), *previous};
    auto [it, inserted] = entry_facts_.try_emplace({e.index, e.term}, facts);
    if (!inserted && (it->second.data_hash != facts.data_hash || it->second.previous_term != facts.previous_term)) {
      fail("log matching: two different entries at index " + std::to_string(e.index) + " term " + std::to_string(e.term));
      return;
    }
  }
}

void Cluster::check_leader_complete(SimNode& node) {
  const RaftLog& log = node.raft->log();
  for (auto it = chain_.upper_bound(log.snapshot_index()); it != chain_.end(); ++it) {
    if (it->second.term_max_at_apply < node.raft->term() && log.term(it->first) != it->second.term) {
      fail("leader completeness: leader " + std::to_string(node.id) + " of term " + std::to_string(node.raft->term()) +
           " lacks committed entry " + std::to_string(it->first));
      return;
    }
  }
}

void Cluster::check_step() {
  for (auto& node : nodes_) {
    if (node->raft) term_max_ = std::max(term_max_, node->raft->term());
  }
  for (auto& node : nodes_) {
    if (!node->raft || node->raft->role() != Role::kLeader) continue;
    Term term = node->raft->term();
    auto [it, inserted] = leaders_by_term_.try_emplace(term, node->id);
    if (!inserted && it->second != node->id) {
      fail("election safety: nodes " + std::to_string(it->second) + " and " + std::to_string(node->id) +
           " both lead term " + std::to_string(term));
      return;
    }
    if (node->checked_leader_term != term) {
      node->checked_leader_term = term;
      trace("node " + std::to_string(node->id) + " leads term " + std::to_string(term));
      check_leader_complete(*node);
    } else if (!chain_.empty() && chain_.rbegin()->first > node->raft->log().snapshot_index() &&
               chain_.rbegin()->second.term_max_at_apply < term) {
      // Cheap per-step form of "committed entries are never lost": the newest one is in the leader's log.
      if (node->raft->log().term(chain_.rbegin()->first) != chain_.rbegin()->second.term) {
        fail("committed entry " + std::to_string(chain_.rbegin()->first) + " missing from leader " + std::to_string(node->id));
      }
    }
  }
}

void Cluster::inject_fault() {
  std::vector<SimNode*> live, down;
  for (auto& node : nodes_) (node->raft ? live : down).push_back(node.get());
  switch (uniform(0, 5)) {
    case 0: {  // crash a node, often the leader (its unpersisted writes are lost)
      SimNode* leader = current_leader();
      if (leader != nullptr && chance(0.5)) {
        crash(*leader);
      } else if (!live.empty()) {
        crash(*live[uniform(0, live.size() - 1)]);
      }
      break;
    }
    case 1:  // restart a crashed node from its disk
      if (!down.empty()) restart(*down[uniform(0, down.size() - 1)]);
      break;
    case 2: {  // symmetric partition: a random minority or majority side
      blocked_links_.clear();
      std::vector<NodeId> side;
      for (auto& node : nodes_) {
        if (chance(0.4)) side.push_back(node->id);
      }
      for (auto& a : nodes_) {
        for (auto& b : nodes_) {
          bool a_in = std::count(side.begin(), side.end(), a->id) != 0;
          bool b_in = std::count(side.begin(), side.end(), b->id) != 0;
          if (a_in != b_in) blocked_links_.insert({a->id, b->id});
        }
      }
      trace("partition: " + std::to_string(side.size()) + " nodes on one side");
      break;
    }
    case 3: {  // one-way link failure
      NodeId from = nodes_[uniform(0, nodes_.size() - 1)]->id, to = nodes_[uniform(0, nodes_.size() - 1)]->id;
      if (from != to) blocked_links_.insert({from, to});
      trace("one-way block " + std::to_string(from) + " -> " + std::to_string(to));
      break;
    }
    default:  // heal the network
      blocked_links_.clear();
      trace("network healed");
      break;
  }
}

void Cluster::maybe_change_membership(SimNode& leader) {
  const ConfState& conf = leader.raft->conf();
  ConfChange change;
  if (!conf.learners.empty()) {
    change = {ConfChangeType::kAddVoter, {conf.learners.front()}};
  } else if (conf.voters.size() > 3 || (conf.voters.size() == 3 && chance(0.3))) {
    change = {ConfChangeType::kRemoveNode, {conf.voters[uniform(0, conf.voters.size() - 1)]}};
  } else if (next_node_id_ <= options_.nodes + kNodesExtraMax) {
    NodeId id = next_node_id_++;
    create_node(id, false);
    change = {ConfChangeType::kAddLearner, {id}};
  } else {
    return;
  }
  ProposeResult result = leader.raft->propose_conf_change(change);
  trace("conf change " + std::to_string(static_cast<int>(change.type)) + " node " + std::to_string(change.node_ids[0]) +
        " status " + std::to_string(static_cast<int>(result.status)));
}

void Cluster::client_actions() {
  std::vector<SimNode*> live;
  for (auto& node : nodes_) {
    if (node->raft) live.push_back(node.get());
  }
  if (live.empty()) return;
  if (chance(options_.propose_rate)) {
    SimNode& node = *live[uniform(0, live.size() - 1)];
    size_t count = uniform(1, 4);
    SharedBytes block = SharedBytes::allocate(8 * count);
    std::vector<SharedBytes> payloads;
    for (size_t i = 0; i < count; ++i) {
      uint64_t value = next_payload_++;
      std::memcpy(block.mutable_data() + 8 * i, &value, 8);
    }
    for (size_t i = 0; i < count; ++i) payloads.push_back(block.slice(8 * i, 8));
    node.raft->propose(payloads);
    drive(node);
  }
  if (chance(options_.read_rate)) {
    SimNode& node = *live[uniform(0, live.size() - 1)];
    Index committed_before = committed_max();
    for (SimNode* other : live) committed_before = std::max(committed_before, other->raft->log().committed);
    uint64_t context = next_read_context_++;
    if (node.raft->read_index(context)) pending_reads_[context] = {node.id, committed_before};
    drive(node);
  }
  SimNode* leader = current_leader();
  if (leader != nullptr && faults_enabled_) {
    if (options_.transfers && chance(0.002)) {
      const auto& voters = leader->raft->conf().voters;
      leader->raft->transfer_leadership(voters[uniform(0, voters.size() - 1)]);
      drive(*leader);
    }
    if (options_.membership_changes && chance(0.003)) {
      maybe_change_membership(*leader);
      drive(*leader);
    }
  }
  if (options_.compaction && chance(0.02)) {
    SimNode& node = *live[uniform(0, live.size() - 1)];
    Index applied = node.raft->log().applied;
    if (applied >= node.raft->log().snapshot_index() + kCompactLagMin && applied == node.applied) {
      Index keep = uniform(0, 4);  // sometimes keep a few entries behind the snapshot
      Index at = applied - keep;
      if (at > node.raft->log().snapshot_index() && at == node.applied &&
          node.raft->compact(at, encode_machine(node.applied, node.chain))) {
        node.disk.compacted(node.raft->snapshot());
        trace("node " + std::to_string(node.id) + " compacts to " + std::to_string(at));
      }
    }
  }
}

bool Cluster::step_once(bool faults) {
  faults_enabled_ = faults;
  ++now_;
  deliver_due();
  for (size_t i = 0; i < nodes_.size(); ++i) complete_writes(*nodes_[i]);
  if (now_ % options_.time_per_tick == 0) {
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (nodes_[i]->raft) {
        nodes_[i]->raft->tick();
        drive(*nodes_[i]);
      }
    }
    if (faults && chance(options_.fault_rate)) inject_fault();
  }
  client_actions();
  check_step();
  return failure_.empty();
}

bool Cluster::run_chaos(uint64_t time_units) {
  for (uint64_t i = 0; i < time_units; ++i) {
    if (!step_once(true)) return false;
  }
  return true;
}

bool Cluster::run_liveness(uint64_t time_units_max) {
  blocked_links_.clear();
  for (auto& node : nodes_) {
    if (!node->raft) restart(*node);
  }
  uint64_t deadline = now_ + time_units_max;
  std::optional<std::pair<Term, Index>> marker;  // our proposal, once a leader accepted it
  uint64_t read_context = 0;
  while (now_ < deadline) {
    if (!step_once(false)) return false;
    SimNode* leader = current_leader();
    if (leader == nullptr) continue;
    if (!marker || marker->first != leader->raft->term()) {
      SharedBytes payload = SharedBytes::copy_of(std::string_view("liveness marker"));
      ProposeResult result = leader->raft->propose({&payload, 1});
      if (result.status == ProposeStatus::kAccepted) marker = {{result.term, result.last_index}};
      read_context = next_read_context_++;
      if (leader->raft->read_index(read_context)) pending_reads_[read_context] = {leader->id, committed_max()};
      drive(*leader);
      continue;
    }
    auto applied = chain_.find(marker->second);
    if (applied == chain_.end() || applied->second.term != marker->first) continue;
    bool everywhere = true;
    for (NodeId voter : leader->raft->conf().voters) {
      SimNode* node = find(voter);
      if (node == nullptr || !node->raft || node->applied < marker->second) everywhere = false;
    }
    if (everywhere && pending_reads_.count(read_context) == 0) return true;
  }
  SimNode* leader = current_leader();
  std::ostringstream state;
  if (leader != nullptr) {
    state << "leader " << leader->id << " term " << leader->raft->term() << " last " << leader->raft->log().last_index()
          << " commit " << leader->raft->log().committed << "; followers:";
    for (NodeId voter : leader->raft->conf().voters) {
      SimNode* node = find(voter);
      const Progress* pr = leader->raft->progress(voter);
      state << " [" << voter << " applied " << (node ? node->applied : 0);
      if (node != nullptr && node->raft) {
        const Node& r = *node->raft;
        state << " role " << role_name(r.role()) << " term " << r.term() << " last " << r.log().last_index()
              << " held " << r.held_messages() << " seq " << r.persisted_seq() << "/" << r.last_persist_seq()
              << " writes " << node->writes.size();
      }
      if (pr != nullptr) {
        state << " state " << static_cast<int>(pr->state) << " match " << pr->match << " next " << pr->next
              << " paused " << pr->paused() << " inflight " << pr->inflights.count();
      }
      state << "]";
    }
  } else {
    state << "no leader;";
    for (auto& node : nodes_) {
      if (!node->raft) continue;
      const Node& r = *node->raft;
      state << " [" << node->id << " " << role_name(r.role()) << " term " << r.term() << " last "
            << r.log().last_index() << "/" << r.log().last_term() << " commit " << r.log().committed << " voters";
      for (NodeId voter : r.conf().voters) state << " " << voter;
      state << "]";
    }
  }
  fail("liveness: no progress within " + std::to_string(time_units_max) + " time units after healing: " + state.str());
  return false;
}

std::string run_seed(const Options& options, uint64_t chaos_time_units, uint64_t liveness_time_units) {
  Cluster cluster(options);
  if (cluster.run_chaos(chaos_time_units) && cluster.run_liveness(liveness_time_units)) return {};
  return cluster.failure();
}

}  // namespace ringkv::raft::sim
