// server/api/election_service.cc — see election_service.h.
#include "server/api/election_service.h"

#include "runtime/spawn.h"
#include "server/api/service_support.h"

namespace ringkv::server {

using namespace unary;
using net::grpc::call_ref;

namespace {

rpc_status election_error(const char* message) { return {grpc_code::unknown, message}; }

}  // namespace

void election_service::register_methods(request_pipeline& pipeline, net::grpc::service_registry& registry) {
  service_methods election(pipeline, registry, *this, "/v3electionpb.Election/");
  election.unary("Campaign", &election_service::campaign);
  election.unary("Proclaim", &election_service::proclaim);
  election.unary("Leader", &election_service::leader);
  election.unary("Resign", &election_service::resign);
  election.server_stream("Observe", &election_service::on_observe);
}

runtime::task<unary_outcome> election_service::campaign(const v3electionpb::CampaignRequest& request,
                                                        std::string /*bytes*/, auth::caller who) {
  recipe_holder held;
  if (auto s = co_await recipes_.take_turn(request.name(), request.lease(), request.value(), held, who); !s.ok())
    co_return failure(s);
  v3electionpb::CampaignResponse response;
  auto* leader = response.mutable_leader();
  leader->set_name(request.name());
  leader->set_key(held.key);
  leader->set_rev(held.create_revision);
  leader->set_lease(request.lease());
  co_return stamped_reply(member_, response);
}

runtime::task<unary_outcome> election_service::proclaim(const v3electionpb::ProclaimRequest& request,
                                                        std::string /*bytes*/, auth::caller who) {
  if (rpc_status s = recipes_.key_read_writable(who, request.leader().key()); !s.ok()) co_return failure(s);
  etcdserverpb::RequestOp put_value;  // only the current leader (same key, same create revision) may proclaim
  auto* put = put_value.mutable_request_put();
  put->set_key(request.leader().key());
  put->set_value(request.value());
  put->set_lease(request.leader().lease());
  etcdserverpb::TxnResponse result;
  rpc_status s = co_await recipes_.run_if_created_at(request.leader().key(), request.leader().rev(),
                                                     std::move(put_value), result, who);
  if (!s.ok()) co_return failure(s);
  if (!result.succeeded()) co_return failure(election_error("election: not leader"));
  v3electionpb::ProclaimResponse response;
  co_return stamped_reply(member_, response);
}

runtime::task<unary_outcome> election_service::leader(const v3electionpb::LeaderRequest& request,
                                                      std::string /*bytes*/, auth::caller who) {
  if (rpc_status s = recipes_.prefix_readable(who, request.name() + "/"); !s.ok()) co_return failure(s);
  rpc_status barrier = co_await member_.driver().read_barrier();
  if (!barrier.ok()) co_return failure(barrier);
  auto oldest = recipes_.oldest_under(request.name() + "/");
  if (!oldest) co_return failure(election_error("election: no leader"));
  v3electionpb::LeaderResponse response;
  to_proto(*oldest, response.mutable_kv());
  co_return stamped_reply(member_, response);
}

runtime::task<unary_outcome> election_service::resign(const v3electionpb::ResignRequest& request,
                                                      std::string /*bytes*/, auth::caller who) {
  if (rpc_status s = recipes_.key_read_writable(who, request.leader().key()); !s.ok()) co_return failure(s);
  etcdserverpb::RequestOp delete_key;
  delete_key.mutable_request_delete_range()->set_key(request.leader().key());
  etcdserverpb::TxnResponse result;
  rpc_status s = co_await recipes_.run_if_created_at(request.leader().key(), request.leader().rev(),
                                                     std::move(delete_key), result, who);
  if (!s.ok()) co_return failure(s);
  v3electionpb::ResignResponse response;
  co_return stamped_reply(member_, response);
}

void election_service::on_observe(const call_ref& call, std::string_view bytes) {
  v3electionpb::LeaderRequest request;
  if (!parse(request, bytes)) {
    call->finish(to_grpc(malformed()));
    return;
  }
  std::string prefix = request.name() + "/";
  if (observe_permitted_ && !observe_permitted_(call, prefix, prefix_end(prefix))) {
    call->finish(to_grpc(rpc_status{}));  // etcd: the observer's first read fails, the stream ends
    return;
  }
  runtime::spawn(observe(call, std::move(prefix)));
}

runtime::task<void> election_service::observe(call_ref call, std::string prefix) {
  int64_t sent_mod_revision = 0;
  int64_t sent_create_revision = 0;
  while (call->alive()) {
    auto oldest = recipes_.oldest_under(prefix);
    if (oldest && (oldest->create_revision != sent_create_revision || oldest->mod_revision != sent_mod_revision)) {
      v3electionpb::LeaderResponse response;
      stamp_header(member_, response);
      to_proto(*oldest, response.mutable_kv());
      if (!call->write_message(response)) co_return;
      sent_create_revision = oldest->create_revision;
      sent_mod_revision = oldest->mod_revision;
    }
    rpc_status changed = co_await recipes_.next_apply();
    if (!changed.ok()) break;
  }
  if (call->alive()) call->finish(to_grpc(etcd_errors::stopped()));
}

}  // namespace ringkv::server
