// tests/raft/sim/cluster.h: a deterministic, single-threaded simulation of a raft cluster.
// One seed fixes everything: the network (drops, delays, duplicates, reordering, symmetric and one-way
// partitions), disk write latency, crashes (pending writes lost) and restarts from the simulated disk,
// client proposals, ReadIndex reads, leader transfers, membership changes and log compaction.
// After every step it checks election safety, log matching, leader completeness, state machine safety,
// committed entries never lost, and that ReadIndex answers cover every write committed before the read.
// The first violation stops the run; failure() describes it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <queue>
#include <set>
#include <string>
#include <vector>

#include "raft/node.h"
#include "tests/raft/sim/memory_disk.h"

namespace ringkv::raft::sim {

struct Options {
  uint64_t seed = 1;
  uint32_t nodes = 3;                // initial voters (ids 1..nodes)
  uint32_t time_per_tick = 10;       // simulated time units per raft tick
  uint32_t message_delay_max = 15;   // time units, uniform in [1, max]
  uint32_t disk_delay_max = 8;       // time units per write, completes in order
  double drop_rate = 0.05;
  double duplicate_rate = 0.02;
  double fault_rate = 0.04;          // per tick: chance of a crash/restart/partition/heal event
  double propose_rate = 0.3;         // per time unit
  double read_rate = 0.05;           // per time unit
  bool membership_changes = true;
  bool transfers = true;
  bool compaction = true;
  bool pre_vote = true;              // raft Config switches under test
  bool check_quorum = true;
  bool trace = false;                // print every event (for replaying a seed)
};

class Cluster {
 public:
  explicit Cluster(Options options);
  ~Cluster();

  // Faults on: runs `time_units` of chaos. False if an invariant broke (see failure()).
  bool run_chaos(uint64_t time_units);
  // Heals the network, restarts crashed nodes, stops faults; then requires that within
  // `time_units_max` a leader exists and a fresh proposal plus a read complete on every live voter.
  bool run_liveness(uint64_t time_units_max);
  const std::string& failure() const { return failure_; }

  uint64_t now() const { return now_; }
  uint64_t committed_max() const { return chain_.empty() ? 0 : chain_.rbegin()->first; }
  uint64_t elections() const { return leaders_by_term_.size(); }
  uint64_t reads_completed() const { return reads_completed_; }

 private:
  struct SimNode;
  struct InFlight {
    uint64_t deliver_at;
    uint64_t order;
    Message message;
    bool operator>(const InFlight& other) const {
      return deliver_at != other.deliver_at ? deliver_at > other.deliver_at : order > other.order;
    }
  };
  struct EntryFacts {
    uint64_t data_hash;
    Term previous_term;
  };
  struct AppliedFacts {
    Term term;
    uint64_t chain;  // hash of every applied entry up to here
    Term term_max_at_apply;  // every leader of a later term must hold this entry
  };
  struct PendingRead {
    NodeId node;
    Index committed_before;  // highest index any node knew committed when the read started
  };

  bool step_once(bool faults);
  void deliver_due();
  void complete_writes(SimNode& node);
  void drive(SimNode& node);
  void handle_ready(SimNode& node, Ready& rd);
  void apply(SimNode& node, const Entry& entry);
  void send(const Message& m);
  void inject_fault();
  void client_actions();
  void crash(SimNode& node);
  void restart(SimNode& node);
  SimNode& create_node(NodeId id, bool bootstrap);
  void maybe_change_membership(SimNode& leader);
  SimNode* find(NodeId id);
  SimNode* current_leader();
  bool blocked(NodeId from, NodeId to) const;
  void check_entries(SimNode& node, std::span<const Entry> entries);
  void check_step();
  void check_leader_complete(SimNode& node);
  void fail(const std::string& what);
  uint64_t random();
  bool chance(double p);
  uint64_t uniform(uint64_t low, uint64_t high);  // inclusive
  void trace(const std::string& line);

  Options options_;
  uint64_t random_state_;
  uint64_t now_ = 0;
  uint64_t message_order_ = 0;
  uint64_t next_node_id_;
  uint64_t next_read_context_ = 1;
  uint64_t next_payload_ = 1;
  uint64_t reads_completed_ = 0;
  std::vector<std::unique_ptr<SimNode>> nodes_;
  std::priority_queue<InFlight, std::vector<InFlight>, std::greater<InFlight>> network_;
  std::set<std::pair<NodeId, NodeId>> blocked_links_;  // (from, to)
  bool faults_enabled_ = true;
  std::map<std::pair<Index, Term>, EntryFacts> entry_facts_;
  std::map<Index, AppliedFacts> chain_;
  std::map<Term, NodeId> leaders_by_term_;
  Term term_max_ = 0;  // highest term any node has reached
  std::map<uint64_t, PendingRead> pending_reads_;
  std::string failure_;
};

// Runs chaos then liveness for one seed; empty on success, else the failure and how to replay it.
std::string run_seed(const Options& options, uint64_t chaos_time_units, uint64_t liveness_time_units);

}  // namespace ringkv::raft::sim
