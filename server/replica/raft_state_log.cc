// server/replica/raft_state_log.cc — the "became leader" / "lost leader" lines of raft_state_log.h.
#include "server/replica/raft_state_log.h"

#include <string>

#include "runtime/log.h"

namespace ringkv::server {

raft_soft_state soft_state_of(const raft::Node& node) { return {node.role(), node.leader(), node.term()}; }

raft_soft_state log_soft_state_changes(raft::NodeId self, const raft_soft_state& before, const raft_soft_state& now) {
  if (now == before) return now;
  if (now.role != before.role || now.term != before.term) {
    // A new term alone (a follower hearing of a higher term) is "became follower at term N", as in etcd.
    log::info(std::string("became ") + raft::role_name(now.role),
              {log::hex_id("local-member-id", self), {"term", now.term}});
  }
  if (now.leader == before.leader) return now;
  if (before.leader == raft::kNoNode) {
    log::info("elected leader",
              {log::hex_id("local-member-id", self), log::hex_id("leader-id", now.leader), {"term", now.term}});
  } else if (now.leader == raft::kNoNode) {
    log::info("lost leader",
              {log::hex_id("local-member-id", self), log::hex_id("lost-leader-id", before.leader), {"term", now.term}});
  } else {
    log::info("changed leader", {log::hex_id("local-member-id", self), log::hex_id("from-leader-id", before.leader),
                                 log::hex_id("to-leader-id", now.leader), {"term", now.term}});
  }
  return now;
}

}  // namespace ringkv::server
