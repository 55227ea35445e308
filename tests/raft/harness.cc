// tests/raft/harness.cc: the hand-driven cluster used by the raft scenario tests.
#include "tests/raft/harness.h"

#include <cassert>

namespace ringkv::raft::test {

Harness::Harness(uint32_t voters, std::function<void(Config&)> tune) : tune_(std::move(tune)) {
  for (NodeId id = 1; id <= voters; ++id) bootstrap_.push_back(id);
  for (NodeId id = 1; id <= voters; ++id) {
    members_[id].config.bootstrap_voters = bootstrap_;
    start(id);
  }
}

void Harness::add_empty_node(NodeId id) {
  assert(members_.count(id) == 0);
  members_[id];
  start(id);
}

void Harness::start(NodeId id) {
  Member& member = members_.at(id);
  Config config = member.config;
  config.id = id;
  config.random_seed = id;
  if (tune_) tune_(config);
  PersistedState state = member.disk.load();
  member.raft = std::make_unique<Node>(config, std::move(state));
  member.applied.clear();
  member.reads.clear();
  drive(id);
}

void Harness::crash_and_restart(NodeId id) {
  members_.at(id).pending.clear();
  members_.at(id).disk_paused = false;
  start(id);
}

void Harness::drive(NodeId id) {
  Member& member = members_.at(id);
  while (member.raft->has_ready()) {
    Ready rd = member.raft->ready();
    sim::Write write = sim::Write::of(rd);
    for (Message& m : rd.messages) wire_.push_back(std::move(m));
    for (const Entry& e : rd.committed_entries) {
      if (e.type == EntryType::kNormal && !e.data.empty()) member.applied.emplace_back(e.data.view());
    }
    for (const ReadState& read : rd.read_states) member.reads.push_back(read);
    member.raft->advance(rd);
    if (write.seq != 0) {
      if (member.disk_paused) {
        member.pending.push_back(std::move(write));
      } else {
        bool written = member.disk.apply(write);
        assert(written);
        member.raft->mark_persisted(write.seq);
      }
    }
  }
}

void Harness::flush_disk(NodeId id) {
  Member& member = members_.at(id);
  member.disk_paused = false;
  PersistSeq last = 0;
  for (sim::Write& write : member.pending) {
    bool written = member.disk.apply(write);
    assert(written);
    last = write.seq;
  }
  member.pending.clear();
  if (last != 0) member.raft->mark_persisted(last);
  drive(id);
}

void Harness::tick(NodeId id, uint32_t ticks) {
  for (uint32_t i = 0; i < ticks; ++i) {
    node(id).tick();
    drive(id);
  }
}

void Harness::tick_all(uint32_t ticks) {
  for (uint32_t i = 0; i < ticks; ++i) {
    for (auto& [id, member] : members_) tick(id);
  }
}

void Harness::campaign(NodeId id) {
  node(id).campaign();
  drive(id);
}

void Harness::elect(NodeId id) {
  campaign(id);
  deliver_all();
  assert(node(id).role() == Role::kLeader);
}

ProposeResult Harness::propose(NodeId id, const std::string& payload) {
  SharedBytes bytes = SharedBytes::copy_of(std::string_view(payload));
  ProposeResult result = node(id).propose({&bytes, 1});
  drive(id);
  return result;
}

ProposeResult Harness::propose_many(NodeId id, uint32_t count) {
  std::vector<SharedBytes> payloads;
  for (uint32_t i = 0; i < count; ++i) payloads.push_back(SharedBytes::copy_of("e" + std::to_string(i)));
  ProposeResult result = node(id).propose(payloads);
  drive(id);
  return result;
}

bool Harness::deliver_one() {
  if (wire_.empty()) return false;
  Message m = std::move(wire_.front());
  wire_.pop_front();
  bool lost = members_.count(m.to) == 0 || isolated_.count(m.to) || isolated_.count(m.from) ||
              cut_links_.count({m.from, m.to});
  if (!lost) inject(std::move(m));
  return true;
}

size_t Harness::deliver_all(size_t limit) {
  size_t delivered = 0;
  while (delivered < limit && deliver_one()) ++delivered;
  return delivered;
}

std::vector<Message> Harness::take_wire() {
  std::vector<Message> taken(std::make_move_iterator(wire_.begin()), std::make_move_iterator(wire_.end()));
  wire_.clear();
  return taken;
}

void Harness::inject(Message m) {
  NodeId to = m.to;
  node(to).step(std::move(m));
  drive(to);
}

size_t Harness::wire_count(MessageType type) const {
  size_t count = 0;
  for (const Message& m : wire_) count += m.type == type;
  return count;
}

NodeId Harness::leader() const {
  NodeId best = kNoNode;
  Term best_term = 0;
  for (const auto& [id, member] : members_) {
    if (member.raft->role() == Role::kLeader && member.raft->term() >= best_term) {
      best = id;
      best_term = member.raft->term();
    }
  }
  return best;
}

}  // namespace ringkv::raft::test
