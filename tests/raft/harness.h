// tests/raft/harness.h: a small hand-driven cluster for the raft scenario tests.
// Messages queue in a FIFO "wire"; nothing moves until the test says so (deliver_all, deliver_one), so
// each scenario reads as a sequence of steps. Disks are synchronous unless a node's disk is paused
// (pause_disk), in which case its writes wait for flush_disk — that is how tests look at the window
// where a write is still in flight.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "raft/node.h"
#include "tests/raft/sim/memory_disk.h"

namespace ringkv::raft::test {

class Harness {
 public:
  // Voters 1..voters bootstrap a new cluster; `tune` adjusts every node's config.
  explicit Harness(uint32_t voters, std::function<void(Config&)> tune = {});

  Node& node(NodeId id) { return *members_.at(id).raft; }
  // A node that joins later (no bootstrap); it only learns the cluster from the leader.
  void add_empty_node(NodeId id);
  // Restart from what the node's disk holds (unpersisted writes are lost).
  void crash_and_restart(NodeId id);

  void tick(NodeId id, uint32_t ticks = 1);
  void tick_all(uint32_t ticks = 1);
  void campaign(NodeId id);
  ProposeResult propose(NodeId id, const std::string& payload);
  ProposeResult propose_many(NodeId id, uint32_t count);  // one batch of `count` payloads
  void elect(NodeId id);  // campaign and deliver until it leads

  // The wire. A message to an isolated node, or on a cut link, is dropped when delivered.
  size_t deliver_all(size_t limit = 100000);
  bool deliver_one();  // false if the wire is empty
  std::vector<Message> take_wire();  // remove and return everything on the wire (not delivered)
  void inject(Message m);            // deliver m to m.to now
  const std::deque<Message>& wire() const { return wire_; }
  size_t wire_count(MessageType type) const;
  void isolate(NodeId id) { isolated_.insert(id); }
  void cut(NodeId from, NodeId to) { cut_links_.insert({from, to}); }
  void heal() {
    isolated_.clear();
    cut_links_.clear();
  }

  void pause_disk(NodeId id) { members_.at(id).disk_paused = true; }
  void flush_disk(NodeId id);  // completes every pending write and resumes synchronous writes

  NodeId leader() const;  // the leader with the highest term, or kNoNode
  std::vector<std::string> applied(NodeId id) const { return members_.at(id).applied; }  // payloads, no-ops skipped
  std::vector<ReadState> reads(NodeId id) const { return members_.at(id).reads; }
  void drive(NodeId id);

 private:
  struct Member {
    std::unique_ptr<Node> raft;
    Config config;
    sim::MemoryDisk disk;
    bool disk_paused = false;
    std::deque<sim::Write> pending;  // writes waiting for flush_disk
    std::vector<std::string> applied;
    std::vector<ReadState> reads;
  };
  void start(NodeId id);

  std::function<void(Config&)> tune_;
  std::map<NodeId, Member> members_;
  std::deque<Message> wire_;
  std::set<NodeId> isolated_;
  std::set<std::pair<NodeId, NodeId>> cut_links_;
  std::vector<NodeId> bootstrap_;
};

}  // namespace ringkv::raft::test
