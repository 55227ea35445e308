// bench/raft/raft_bench.cc: committed entries per second of an in-memory 3-node raft cluster on one core
// (no disk, no network: messages are handed from node to node, persistence completes at once).
//   BM_RaftCommit/<batch>: each round the leader proposes <batch> 256-byte entries in one propose() and
//   the cluster runs until they are committed and applied everywhere. batch=1 is "batching off".
//   BM_RaftPipelined/<batch>: the server's loop shape: each turn the leader proposes <batch> entries, every
//   node runs one ready()/advance() and its disk write of the previous turn completes (async
//   persistence: appends leave while the write runs), then messages are delivered once. Commits trail
//   the proposals by a few turns; throughput is what keeps up.
//   BM_CodecEncode/<entries>, BM_CodecDecode/<entries>: one append of <entries> 256-byte entries through
//   the flatbuffers codec (raft/codec.h), builder reused as the peer transport would.
// Counters: entries/s (items_per_second), msgs_per_entry (raft messages sent per committed entry).
#include <benchmark/benchmark.h>
#include <flatbuffers/flatbuffers.h>

#include <cstring>
#include <deque>
#include <memory>
#include <vector>

#include "raft/codec.h"
#include "raft/node.h"

namespace ringkv::raft {
namespace {

constexpr size_t kEntryBytes = 256;
constexpr Index kCompactEvery = 1 << 16;  // entries between log compactions (bounds memory)

class MemoryCluster {
 public:
  explicit MemoryCluster(uint32_t voters) {
    for (NodeId id = 1; id <= voters; ++id) {
      Config config;
      config.id = id;
      for (NodeId v = 1; v <= voters; ++v) config.bootstrap_voters.push_back(v);
      config.max_append_bytes = 4ull << 20;
      nodes_.push_back(std::make_unique<Node>(config, PersistedState{}));
    }
    nodes_[0]->campaign();
    run();
  }

  Node& leader() { return *nodes_[0]; }

  // Runs every node's ready loop and delivers messages until the cluster is quiet.
  void run() {
    bool busy = true;
    while (busy) {
      busy = false;
      for (auto& node : nodes_) {
        while (node->has_ready()) {
          busy = true;
          Ready rd = node->ready();
          PersistSeq seq = rd.persist_seq;
          messages_ += rd.messages.size();
          for (Message& m : rd.messages) wire_.push_back(std::move(m));
          applied_ += rd.committed_entries.size();
          node->advance(rd);
          if (seq != 0) node->mark_persisted(seq);
        }
      }
      while (!wire_.empty()) {
        busy = true;
        Message m = std::move(wire_.front());
        wire_.pop_front();
        nodes_[m.to - 1]->step(std::move(m));
      }
    }
    for (auto& node : nodes_) {
      Index applied = node->log().applied;
      if (applied >= node->log().snapshot_index() + kCompactEvery) node->compact(applied, {});
    }
  }

  uint64_t messages() const { return messages_; }
  std::vector<std::unique_ptr<Node>>& nodes() { return nodes_; }

 private:
  std::vector<std::unique_ptr<Node>> nodes_;
  std::deque<Message> wire_;
  uint64_t messages_ = 0;
  uint64_t applied_ = 0;
};

void BM_RaftCommit(benchmark::State& state) {
  const size_t batch = static_cast<size_t>(state.range(0));
  MemoryCluster cluster(3);
  std::vector<SharedBytes> payloads(batch);
  uint64_t messages_before = cluster.messages();
  Index committed_before = cluster.leader().log().committed;
  for (auto _ : state) {
    // One block per batch, entries are slices of it (what the server does with a batch of requests).
    SharedBytes block = SharedBytes::allocate(batch * kEntryBytes);
    std::memset(block.mutable_data(), 'v', batch * kEntryBytes);
    for (size_t i = 0; i < batch; ++i) payloads[i] = block.slice(i * kEntryBytes, kEntryBytes);
    ProposeResult result = cluster.leader().propose(payloads);
    if (result.status != ProposeStatus::kAccepted) state.SkipWithError("proposal refused");
    cluster.run();
  }
  Index committed = cluster.leader().log().committed - committed_before;
  state.SetItemsProcessed(static_cast<int64_t>(committed));
  state.SetBytesProcessed(static_cast<int64_t>(committed * kEntryBytes));
  state.counters["msgs_per_entry"] =
      static_cast<double>(cluster.messages() - messages_before) / static_cast<double>(std::max<Index>(committed, 1));
}
BENCHMARK(BM_RaftCommit)->Arg(1)->Arg(16)->Arg(256)->Arg(1024)->Arg(4096);

// Every node runs one loop turn per call; writes become durable one turn after they were handed out.
class PipelinedCluster {
 public:
  PipelinedCluster() : cluster_(3) {}  // elected and quiet
  Node& leader() { return cluster_.leader(); }

  void turn() {
    std::vector<std::unique_ptr<Node>>& nodes = cluster_.nodes();
    for (size_t i = 0; i < nodes.size(); ++i) {
      Node& node = *nodes[i];
      if (writing_[i] != 0) node.mark_persisted(writing_[i]);  // last turn's write is durable now
      writing_[i] = 0;
      if (!node.has_ready()) continue;
      Ready rd = node.ready();
      writing_[i] = rd.persist_seq;
      messages_ += rd.messages.size();
      for (Message& m : rd.messages) wire_.push_back(std::move(m));
      node.advance(rd);
    }
    while (!wire_.empty()) {
      Message m = std::move(wire_.front());
      wire_.pop_front();
      nodes[m.to - 1]->step(std::move(m));
    }
    for (auto& node : nodes) {
      Index applied = node->log().applied;
      if (applied >= node->log().snapshot_index() + kCompactEvery) node->compact(applied, {});
    }
  }
  uint64_t messages() const { return messages_; }

 private:
  MemoryCluster cluster_;
  PersistSeq writing_[3] = {0, 0, 0};
  std::deque<Message> wire_;
  uint64_t messages_ = 0;
};

void BM_RaftPipelined(benchmark::State& state) {
  const size_t batch = static_cast<size_t>(state.range(0));
  PipelinedCluster pipeline;
  std::vector<SharedBytes> payloads(batch);
  Index committed_before = pipeline.leader().log().committed;
  for (auto _ : state) {
    SharedBytes block = SharedBytes::allocate(batch * kEntryBytes);
    std::memset(block.mutable_data(), 'v', batch * kEntryBytes);
    for (size_t i = 0; i < batch; ++i) payloads[i] = block.slice(i * kEntryBytes, kEntryBytes);
    if (pipeline.leader().propose(payloads).status != ProposeStatus::kAccepted) {
      state.SkipWithError("proposal refused");
      break;
    }
    pipeline.turn();
  }
  Index committed = pipeline.leader().log().committed - committed_before;
  state.SetItemsProcessed(static_cast<int64_t>(committed));
  state.counters["msgs_per_entry"] =
      static_cast<double>(pipeline.messages()) / static_cast<double>(std::max<Index>(committed, 1));
}
BENCHMARK(BM_RaftPipelined)->Arg(1)->Arg(256)->Arg(1024);

Message sample_append(size_t entries) {
  Message m;
  m.type = MessageType::kAppend;
  m.from = 1;
  m.to = 2;
  m.term = 5;
  m.log_term = 5;
  m.index = 1000;
  m.commit = 999;
  SharedBytes block = SharedBytes::allocate(entries * kEntryBytes);
  std::memset(block.mutable_data(), 'v', entries * kEntryBytes);
  for (size_t i = 0; i < entries; ++i) {
    m.entries.push_back(Entry{5, 1001 + i, EntryType::kNormal, block.slice(i * kEntryBytes, kEntryBytes)});
  }
  return m;
}

void BM_CodecEncode(benchmark::State& state) {
  Message m = sample_append(static_cast<size_t>(state.range(0)));
  flatbuffers::FlatBufferBuilder builder(1 << 20);
  for (auto _ : state) {
    encode_message(m, builder);
    benchmark::DoNotOptimize(builder.GetBufferPointer());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * m.entries.size()));
}
BENCHMARK(BM_CodecEncode)->Arg(1)->Arg(1024);

void BM_CodecDecode(benchmark::State& state) {
  SharedBytes frame = encode_message(sample_append(static_cast<size_t>(state.range(0))));
  std::string error;
  for (auto _ : state) {
    std::optional<Message> m = decode_message(frame, &error);
    benchmark::DoNotOptimize(m);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * state.range(0)));
}
BENCHMARK(BM_CodecDecode)->Arg(1)->Arg(1024);

}  // namespace
}  // namespace ringkv::raft

BENCHMARK_MAIN();
