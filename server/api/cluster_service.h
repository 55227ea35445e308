// server/api/cluster_service.h — etcd's Cluster service (MemberList/Add/Remove/Update/Promote), the
// member's "publish" of its name and client URLs, and the leader's answers to what other members ask
// it through the log (promote, the strict reconfiguration check). The member records themselves and
// the peer transport kept equal to them are the replica's (server/replica/membership.h).
//
//   MemberAdd ─ checks ─> stage_add entry {id, peer URLs} ─applied─> conf change AddVoter/AddLearner(id)
//             ─applied─> member record (peer URLs from the staged entry) ─> reply {member, members}
//   MemberRemove ─> conf change RemoveNode(id) ─applied─> record gone, id refused by the transport;
//                   the removed member stops ("the member has been permanently removed ...")
//   MemberUpdate ─> update_peer_urls entry          MemberPromote ─> conf change AddVoter(learner id)
//   MemberPromote on a follower ─> promote_ask entry ─> the leader promotes, then an ask_answer entry
//   MemberAdd/Remove on a follower ─> reconfig_check_ask entry ─> the leader checks its connections
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "etcd/rpc.pb.h"
#include "net/grpc/service_registry.h"
#include "runtime/task.h"
#include "server/api/request_pipeline.h"
#include "server/replica/replica.h"

namespace ringkv::server {

class cluster_service {
 public:
  explicit cluster_service(replica& member) : member_(member) {}
  void register_methods(request_pipeline& pipeline, net::grpc::service_registry& registry);
  // etcd's publish: name and client URLs, once a leader exists (until done or the member stops). Returns
  // once this member's record is current and a leader is known (etcd_server's ready), or when stopping.
  runtime::task<void> publish_self();
  // This member leads and another asked it (replica_events::member_asked): answers in the background.
  void member_asked(member_op op, member_ask ask);

 private:
  runtime::task<unary_outcome> member_list(const etcdserverpb::MemberListRequest& request);
  runtime::task<unary_outcome> member_add(const etcdserverpb::MemberAddRequest& request);
  runtime::task<unary_outcome> member_remove(const etcdserverpb::MemberRemoveRequest& request);
  runtime::task<unary_outcome> member_update(const etcdserverpb::MemberUpdateRequest& request);
  runtime::task<unary_outcome> member_promote(const etcdserverpb::MemberPromoteRequest& request);
  template <typename Response>
  unary_outcome members_reply(Response& response) const;

  // One membership change of this member at a time: waits for the previous one (request timeout).
  runtime::task<rpc_status> begin_membership_change();
  uint64_t new_member_id(const std::vector<std::string>& urls) const;
  bool voters_are_only_self() const;
  runtime::task<rpc_status> add_second_voter(raft::ConfChange change);  // see cluster_service.cc
  // MemberPromote: the leader checks its progress and proposes AddVoter; another member asks the
  // leader through the log (promote_ask / ask_answer, membership.h) and waits for its answer.
  runtime::task<rpc_status> promote_as_leader(uint64_t learner_id);
  runtime::task<void> answer_member_ask(member_op op, member_ask ask);  // as the leader
  // --strict-reconfig-check's connection part: on the leader from what it hears, elsewhere asked of it.
  runtime::task<rpc_status> check_reconfig_health(uint64_t removing);  // 0: adding a member
  rpc_status reconfig_health(uint64_t removing) const;

  replica& member_;
  bool membership_busy_ = false;  // one membership change of this member at a time
};

}  // namespace ringkv::server
