// net/peer with real raft: three raft::Node members talking only through peer_transport on loopback elect
// one leader, replicate and apply proposals in the same order everywhere, and after the leader's
// transport is stopped (a crash, as far as the others can tell) elect a new leader that commits more.
// Storage is memory (persisted at once): what is tested is the transport wiring the server will use -
// on_message -> Node::step, on_unreachable -> report_unreachable, on_snapshot_status -> report_snapshot.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net/peer/peer_transport.h"
#include "raft/node.h"
#include "runtime/reactor.h"
#include "runtime/timer.h"
#include "tests/cluster/peer_test_support.h"
#include "runtime/when_all.h"

namespace ringkv::net::peer {
namespace {

using namespace std::chrono_literals;
using namespace testing;

constexpr uint64_t test_cluster = 0xc1a55e5;
constexpr auto tick_interval = 10ms;

raft::Config raft_config(raft::NodeId id) {
  raft::Config config;
  config.id = id;
  config.heartbeat_ticks = 1;
  config.election_ticks = 10;
  config.random_seed = id * 7919;
  config.bootstrap_voters = {1, 2, 3};
  return config;
}


struct raft_member {
  explicit raft_member(raft::NodeId member_id)
      : id(member_id),
        node(raft_config(member_id), raft::PersistedState{}),
        transport({test_cluster, member_id, endpoint::loopback_v4(0), fast_limits(), std::nullopt},
                  {[this](raft::Message&& m) {
                     if (!down) node.step(std::move(m));
                   },
                   [this](raft::NodeId peer) {
                     if (!down) node.report_unreachable(peer);
                   },
                   [this](raft::NodeId peer, raft::SnapshotStatus status) {
                     if (!down) node.report_snapshot(peer, status);
                   },
                   {},     // no members queries: every member is in the initial cluster
                   {}}) {}  // never removed

  raft::NodeId id;
  raft::Node node;
  peer_transport transport;
  std::vector<std::string> applied;
  bool down = false;
};

// The member's loop: handle every ready (memory storage: persisted at once), tick on time.
runtime::task<void> drive(raft_member& m, const bool& finished) {
  runtime::clock::time_point next_tick = runtime::clock::now() + tick_interval;
  while (!finished && !m.down) {
    while (m.node.has_ready()) {
      raft::Ready rd = m.node.ready();
      const raft::PersistSeq seq = rd.persist_seq;
      for (const raft::Message& message : rd.messages) m.transport.send(message);
      for (const raft::Entry& e : rd.committed_entries) {
        if (e.type == raft::EntryType::kNormal && !e.data.empty()) m.applied.emplace_back(e.data.view());
      }
      m.node.advance(rd);
      if (seq != 0) m.node.mark_persisted(seq);
    }
    if (runtime::clock::now() >= next_tick) {
      m.node.tick();
      next_tick += tick_interval;
    }
    co_await runtime::sleep_for(1ms);
  }
}


// The leader all live members agree on, or nullptr.
raft_member* agreed_leader(std::vector<std::unique_ptr<raft_member>>& all) {
  raft_member* leader = nullptr;
  for (auto& m : all) {
    if (!m->down && m->node.role() == raft::Role::kLeader) leader = m.get();
  }
  if (!leader) return nullptr;
  for (auto& m : all) {
    if (!m->down && m->node.leader() != leader->id) return nullptr;
  }
  return leader;
}

// Proposes payloads "p<from>".."p<to-1>" at the leader, a few per loop turn.
runtime::task<void> propose_range(raft_member& leader, int from, int to) {
  for (int i = from; i < to; ++i) {
    const raft::SharedBytes payload = raft::SharedBytes::copy_of("p" + std::to_string(i));
    EXPECT_EQ(leader.node.propose({&payload, 1}).status, raft::ProposeStatus::kAccepted);
    if (i % 10 == 0) co_await runtime::sleep_for(1ms);
  }
}

std::vector<std::string> expected_payloads(int count) {
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) out.push_back("p" + std::to_string(i));
  return out;
}

TEST(PeerTransportRaft, ThreeMembersElectReplicateAndSurviveTheLeadersLoss) {
  run_on_runtime([]() -> runtime::task<int> {
    std::vector<std::unique_ptr<raft_member>> all;
    for (raft::NodeId id = 1; id <= 3; ++id) {
      all.push_back(std::make_unique<raft_member>(id));
      EXPECT_EQ(all.back()->transport.start(), 0);
    }
    for (auto& a : all) {
      for (auto& b : all) {
        if (a != b) a->transport.add_peer(b->id, b->transport.local());
      }
    }
    bool finished = false;
    runtime::task_group loops;
    for (auto& m : all) loops.spawn(drive(*m, finished));

    EXPECT_TRUE(co_await eventually([&] { return agreed_leader(all) != nullptr; }));
    raft_member* first = agreed_leader(all);
    if (first) {
      co_await propose_range(*first, 0, 200);
      EXPECT_TRUE(co_await eventually([&] {
        for (auto& m : all) {
          if (m->applied.size() < 200) return false;
        }
        return true;
      }));
      for (auto& m : all) EXPECT_EQ(m->applied, expected_payloads(200)) << "member " << m->id;

      // The leader "crashes": its loop ends and its transport closes every connection.
      first->down = true;
      co_await first->transport.stop();
      EXPECT_TRUE(co_await eventually([&] { return agreed_leader(all) != nullptr; }));
      raft_member* second = agreed_leader(all);
      if (second) {
        EXPECT_NE(second->id, first->id);
        co_await propose_range(*second, 200, 250);
        EXPECT_TRUE(co_await eventually([&] {
          for (auto& m : all) {
            if (!m->down && m->applied.size() < 250) return false;
          }
          return true;
        }));
        for (auto& m : all) {
          if (!m->down) {
            EXPECT_EQ(m->applied, expected_payloads(250)) << "member " << m->id;
          }
        }
      }
    }
    finished = true;
    co_await loops.wait();
    for (auto& m : all) co_await m->transport.stop();
    co_return 0;
  });
}

}  // namespace
}  // namespace ringkv::net::peer
