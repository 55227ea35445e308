// server/api/lease_service.h — etcd's Lease service (Grant, Revoke, KeepAlive stream, TimeToLive,
// Leases) and the leader's lease housekeeping: expired leases are revoked through raft, as etcd's
// lessor does. Only the leader keeps lease expiry, so on any other member KeepAlive and TimeToLive ask
// it through the log (lease_ask / lease_answer entries, see raft_payload.h), where etcd forwards them
// over HTTP.
//
//   follower: keepalive(id) ─propose─> [lease_ask] ─apply on the leader─> [lease_answer] ─apply─> reply
//   leader:   keepalive(id) ─> store.lease_renew(id, now) ─> reply
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "etcd/rpc.pb.h"
#include "net/grpc/server_call.h"
#include "net/grpc/service_registry.h"
#include "runtime/task.h"
#include "server/api/request_pipeline.h"
#include "server/replica/replica.h"

namespace ringkv::server {

class lease_service {
 public:
  explicit lease_service(replica& member) : member_(member) {}
  void register_methods(request_pipeline& pipeline, net::grpc::service_registry& registry);
  // Until the member stops: expires leases (leader), answers other members' asks, times asks out.
  runtime::task<void> housekeeping();

  struct forwarded_keep_alives;  // a KeepAlive stream's keepalives waiting for the leader's answer

 private:
  runtime::task<unary_outcome> grant(const etcdserverpb::LeaseGrantRequest& request);
  runtime::task<unary_outcome> time_to_live(const etcdserverpb::LeaseTimeToLiveRequest& request);
  runtime::task<unary_outcome> leases(const etcdserverpb::LeaseLeasesRequest& request);

  void on_keep_alive_stream(const net::grpc::call_ref& call);
  void on_keep_alive(net::grpc::server_call* call, const std::shared_ptr<forwarded_keep_alives>& forwarded,
                     std::string_view bytes);
  static void on_keep_alive_half_close(net::grpc::server_call* call,
                                       const std::shared_ptr<forwarded_keep_alives>& forwarded);
  // One keepalive received by a member that is not the leader.
  runtime::task<void> keep_alive_through_leader(net::grpc::call_ref call, std::shared_ptr<forwarded_keep_alives> stream,
                                                int64_t lease_id);
  // The leader's answer to another member's lease_ask, proposed as a lease_answer entry.
  void answer_lease_ask(std::string answer);
  void revoke_expired(int64_t now_ms);

  replica& member_;
};

}  // namespace ringkv::server
