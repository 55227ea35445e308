// server/api/election_service.h — etcd's v3election service (Campaign, Proclaim, Leader, Observe,
// Resign), run server-side with the key layout of etcd's client election recipe (recipes.h): the
// leader is the oldest key under <name>/; Proclaim and Resign act only while the caller's key still
// has the create revision it was elected with.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "etcd/v3election.pb.h"
#include "net/grpc/server_call.h"
#include "net/grpc/service_registry.h"
#include "runtime/task.h"
#include "server/api/apply_waiters.h"
#include "server/api/recipes.h"
#include "server/api/request_pipeline.h"
#include "server/replica/replica.h"

namespace ringkv::server {

class election_service {
 public:
  election_service(replica& member, apply_waiters& waiters) : member_(member), recipes_(member, waiters) {}
  void register_methods(request_pipeline& pipeline, net::grpc::service_registry& registry);
  // Whether the caller of an Observe stream may read <name>/ (the range given): unset, anyone may. etcd
  // observes through its own client with the caller's token: refused, the stream ends with no leader.
  using observe_permission = std::function<bool(const net::grpc::call_ref& call, const std::string& key,
                                                const std::string& range_end)>;
  void set_observe_permission(observe_permission permitted) { observe_permitted_ = std::move(permitted); }

 private:
  runtime::task<unary_outcome> campaign(const v3electionpb::CampaignRequest& request, std::string bytes,
                                        auth::caller who);
  runtime::task<unary_outcome> proclaim(const v3electionpb::ProclaimRequest& request, std::string bytes,
                                        auth::caller who);
  runtime::task<unary_outcome> leader(const v3electionpb::LeaderRequest& request, std::string bytes,
                                      auth::caller who);
  runtime::task<unary_outcome> resign(const v3electionpb::ResignRequest& request, std::string bytes,
                                      auth::caller who);
  void on_observe(const net::grpc::call_ref& call, std::string_view bytes);
  // Streams the leader's key-value whenever the leader or its value changes, until the client leaves.
  runtime::task<void> observe(net::grpc::call_ref call, std::string prefix);

  replica& member_;
  recipes recipes_;
  observe_permission observe_permitted_;
};

}  // namespace ringkv::server
