// tests/server/raft_state_log_test.cc — etcd's raft state-change lines from soft-state changes: which
// lines, their fields, ids in hex, and silence when nothing changed.
#include "server/replica/raft_state_log.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>

#include "runtime/log.h"
#include "tests/runtime/log_capture.h"

namespace ringkv::server {
namespace {

constexpr raft::NodeId self = 0x8e9e05c52164694dULL;
constexpr raft::NodeId other = 0x91bc3c398fb3c146ULL;

std::string logged(const std::function<void()>& work) { return test::capture_log(work); }

size_t lines(const std::string& text) { return size_t(std::count(text.begin(), text.end(), '\n')); }

TEST(RaftStateLog, ElectionOfThisMember) {
  const raft_soft_state follower{raft::Role::kFollower, raft::kNoNode, 1};
  const raft_soft_state leader{raft::Role::kLeader, self, 2};
  raft_soft_state next;
  std::string text = logged([&] { next = log_soft_state_changes(self, follower, leader); });
  EXPECT_EQ(next, leader);
  EXPECT_EQ(lines(text), 2u) << text;
  EXPECT_NE(text.find(R"("msg":"became leader","local-member-id":"8e9e05c52164694d","term":2})"), std::string::npos)
      << text;
  EXPECT_NE(text.find(R"("msg":"elected leader","local-member-id":"8e9e05c52164694d",)"
                      R"("leader-id":"8e9e05c52164694d","term":2})"),
            std::string::npos)
      << text;
}

TEST(RaftStateLog, LostAndChangedLeader) {
  const raft_soft_state following{raft::Role::kFollower, other, 3};
  std::string lost = logged([&] {
    log_soft_state_changes(self, following, {raft::Role::kPreCandidate, raft::kNoNode, 3});
  });
  EXPECT_EQ(lines(lost), 2u) << lost;
  EXPECT_NE(lost.find(R"("msg":"became pre-candidate")"), std::string::npos) << lost;
  EXPECT_NE(lost.find(R"("msg":"lost leader","local-member-id":"8e9e05c52164694d",)"
                      R"("lost-leader-id":"91bc3c398fb3c146","term":3})"),
            std::string::npos)
      << lost;
  std::string changed = logged([&] { log_soft_state_changes(self, following, {raft::Role::kFollower, 0x2a, 4}); });
  EXPECT_NE(changed.find(R"("msg":"became follower","local-member-id":"8e9e05c52164694d","term":4})"),
            std::string::npos)
      << changed;
  EXPECT_NE(changed.find(R"("from-leader-id":"91bc3c398fb3c146","to-leader-id":"2a","term":4})"), std::string::npos)
      << changed;
}

TEST(RaftStateLog, NothingChangedLogsNothing) {
  const raft_soft_state state{raft::Role::kCandidate, raft::kNoNode, 7};
  EXPECT_EQ(logged([&] { log_soft_state_changes(self, state, state); }), "");
}

}  // namespace
}  // namespace ringkv::server
