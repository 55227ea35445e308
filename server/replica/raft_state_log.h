// server/replica/raft_state_log.h — etcd's raft state-change log lines, from the raft node's soft state
// (role, leader, term) as the raft loop sees it after each turn. raft/ stays pure (it logs nothing): the
// driver compares what it saw last turn with what it sees now and this file says it as etcd's raft does:
//   "became follower" / "became pre-candidate" / "became candidate" / "became leader"  (+ term)
//   "elected leader" / "changed leader" / "lost leader"                                 (+ ids, term)
// with every id in hex (log::hex_id), e.g. {"msg":"elected leader","local-member-id":"8e9e05c52164694d",
// "leader-id":"8e9e05c52164694d","term":2}. Several role changes inside one turn log as one (the last).
#pragma once

#include "raft/node.h"
#include "raft/types.h"

namespace ringkv::server {

struct raft_soft_state {
  raft::Role role = raft::Role::kFollower;
  raft::NodeId leader = raft::kNoNode;  // kNoNode: none known
  raft::Term term = 0;

  bool operator==(const raft_soft_state&) const = default;
};

raft_soft_state soft_state_of(const raft::Node& node);

// Logs the changes from `before` to `now` for member `self`; returns `now` (the next turn's `before`).
raft_soft_state log_soft_state_changes(raft::NodeId self, const raft_soft_state& before, const raft_soft_state& now);

}  // namespace ringkv::server
