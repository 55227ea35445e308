// server/api/lease_service.cc — see lease_service.h.
#include "server/api/lease_service.h"

#include <optional>
#include <random>

#include "runtime/log.h"
#include "runtime/spawn.h"
#include "runtime/timer.h"
#include "server/api/service_support.h"
#include "server/api/space_quota.h"

namespace ringkv::server {

using net::grpc::call_ref;
using namespace unary;

namespace {

constexpr size_t expired_leases_per_round_max = 1000;  // revokes proposed per housekeeping round
constexpr std::chrono::milliseconds lease_housekeeping_interval{500};

int64_t random_lease_id() {
  static std::mt19937_64 generator{std::random_device{}()};
  int64_t id = 0;
  while (id <= 0) id = int64_t(generator() >> 1);  // positive int63, as etcd's lessor picks
  return id;
}

// The time a member waits for the leader's answer to a lease question: etcd's request timeout.
std::chrono::milliseconds lease_ask_timeout(const server_config& config) {
  return std::chrono::milliseconds(5000) + 2 * config.election_timeout;
}

runtime::task<void> propose_and_forget(raft_driver& n, proposal_kind kind, std::string bytes) {
  co_await n.propose(kind, std::move(bytes));
}

// Proposes a lease_ask and waits until the leader's answer is applied here.
runtime::task<lease_reply> ask_leader(replica& member, lease_ask_mode mode, int64_t lease_id) {
  const std::chrono::milliseconds timeout = lease_ask_timeout(member.config());
  kv_applier& applier = member.applier();
  runtime::completion<lease_reply> done;
  lease_ask ask = applier.begin_lease_ask(mode, lease_id, &done, lease_clock_ms() + timeout.count());
  apply_result proposed = co_await member.driver().propose(proposal_kind::lease_ask, encode_lease_ask(ask));
  if (!proposed.status.ok()) {
    applier.abandon_lease_ask(ask.nonce);
    if (!done.done()) co_return lease_reply{proposed.status, 0};
  }
  co_return co_await done;
}

}  // namespace

// A LeaseKeepAlive stream on a member that is not the leader: the stream ends (after the client's
// half-close) only once every keepalive it forwarded has been answered, as etcd answers each in turn.
struct lease_service::forwarded_keep_alives {
  size_t in_flight = 0;
  bool half_closed = false;
};

void lease_service::register_methods(request_pipeline& pipeline, net::grpc::service_registry& registry) {
  service_methods lease(pipeline, registry, *this, "/etcdserverpb.Lease/");
  lease.unary("LeaseGrant", &lease_service::grant);
  lease.unary("LeaseRevoke", propose_as<etcdserverpb::LeaseRevokeRequest>{member_, proposal_kind::lease_revoke});
  lease.unary("LeaseTimeToLive", &lease_service::time_to_live);
  lease.unary("LeaseLeases", &lease_service::leases);
  lease.stream("LeaseKeepAlive", &lease_service::on_keep_alive_stream);
}

runtime::task<unary_outcome> lease_service::grant(const etcdserverpb::LeaseGrantRequest& request) {
  if (request.ttl() > mvcc::max_lease_ttl_s) co_return failure(etcd_errors::lease_ttl_too_large());
  if (auto s = check_space(member_, mvcc::MvccStore::quota_cost_lease_grant()); !s.ok()) co_return failure(s);
  etcdserverpb::LeaseGrantRequest granted = request;
  if (granted.id() == 0) granted.set_id(random_lease_id());  // chosen before proposing: apply is deterministic
  co_return co_await member_.propose(proposal_kind::lease_grant, granted.SerializeAsString());
}

runtime::task<unary_outcome> lease_service::time_to_live(const etcdserverpb::LeaseTimeToLiveRequest& request) {
  std::optional<int64_t> leader_ttl_s;  // the remaining TTL as the leader knows it (asked from elsewhere)
  if (!member_.store().lease_primary()) {
    lease_reply answer = co_await ask_leader(member_, lease_ask_mode::time_to_live, request.id());
    if (!answer.status.ok()) co_return failure(answer.status);
    leader_ttl_s = answer.ttl_s;
  }
  etcdserverpb::LeaseTimeToLiveResponse response;
  response.set_id(request.id());
  auto result = member_.store().lease_time_to_live(request.id(), lease_clock_ms(), request.keys());
  if (result.ok() && leader_ttl_s && *leader_ttl_s < 0) result = mvcc::Errc::lease_not_found;
  if (!result.ok()) {
    if (result.error() != mvcc::Errc::lease_not_found) co_return failure(to_status(result.error()));
    response.set_ttl(-1);  // etcd answers an unknown lease with TTL -1, not an error
    co_return stamped_reply(member_, response);
  }
  response.set_ttl(leader_ttl_s.value_or(result->ttl_s));
  response.set_grantedttl(result->granted_ttl_s);
  for (const auto& key : result->keys) response.add_keys(key);
  co_return stamped_reply(member_, response);
}

runtime::task<unary_outcome> lease_service::leases(const etcdserverpb::LeaseLeasesRequest&) {
  etcdserverpb::LeaseLeasesResponse response;
  for (mvcc::lease_id_t id : member_.store().lease_list()) response.add_leases()->set_id(id);
  co_return stamped_reply(member_, response);
}

void lease_service::on_keep_alive_stream(const call_ref& call) {
  net::grpc::server_call* raw = call.get();
  auto forwarded = std::make_shared<forwarded_keep_alives>();
  net::grpc::server_call::stream_callbacks callbacks;
  callbacks.on_message = std::bind_front(&lease_service::on_keep_alive, this, raw, forwarded);
  callbacks.on_half_close = std::bind_front(&lease_service::on_keep_alive_half_close, raw, forwarded);
  // on_cancel stays empty: nothing to release (forwarded keepalives see the call gone).
  call->set_stream_callbacks(std::move(callbacks));
}

void lease_service::on_keep_alive(net::grpc::server_call* call,
                                  const std::shared_ptr<forwarded_keep_alives>& forwarded, std::string_view bytes) {
  etcdserverpb::LeaseKeepAliveRequest request;
  if (!parse(request, bytes)) {
    call->finish(to_grpc(malformed()));
    return;
  }
  if (!member_.store().lease_primary()) {  // not the leader: ask it (answers may overtake each other, by id)
    ++forwarded->in_flight;
    runtime::spawn(keep_alive_through_leader(call_ref(call), forwarded, request.id()));
    return;
  }
  etcdserverpb::LeaseKeepAliveResponse response;
  stamp_header(member_, response);
  response.set_id(request.id());
  auto renewed = member_.store().lease_renew(request.id(), lease_clock_ms());
  if (renewed.ok()) {
    response.set_ttl(renewed->ttl_s);
  } else if (renewed.error() == mvcc::Errc::not_primary) {
    call->finish(to_grpc(etcd_errors::no_leader()));
    return;
  }  // an unknown or expired lease is answered with TTL 0, as etcd does
  call->write_message(response);
}

void lease_service::on_keep_alive_half_close(net::grpc::server_call* call,
                                             const std::shared_ptr<forwarded_keep_alives>& forwarded) {
  forwarded->half_closed = true;
  if (forwarded->in_flight == 0) call->finish(net::grpc::status::success());
}

runtime::task<void> lease_service::keep_alive_through_leader(call_ref call,
                                                             std::shared_ptr<forwarded_keep_alives> stream,
                                                             int64_t lease_id) {
  lease_reply answer = co_await ask_leader(member_, lease_ask_mode::renew, lease_id);
  --stream->in_flight;
  if (!call->alive()) co_return;
  if (!answer.status.ok()) {  // as etcd: an error other than "lease not found" ends the stream
    call->finish(to_grpc(answer.status));
    co_return;
  }
  etcdserverpb::LeaseKeepAliveResponse response;
  stamp_header(member_, response);
  response.set_id(lease_id);
  response.set_ttl(answer.ttl_s);  // 0: unknown or expired, as etcd answers
  call->write_message(response);
  if (stream->half_closed && stream->in_flight == 0) call->finish(net::grpc::status::success());
}

void lease_service::answer_lease_ask(std::string answer) {
  runtime::spawn(propose_and_forget(member_.driver(), proposal_kind::lease_answer, std::move(answer)));
}

void lease_service::revoke_expired(int64_t now_ms) {
  for (mvcc::lease_id_t id : member_.store().lease_expired(now_ms, expired_leases_per_round_max)) {
    etcdserverpb::LeaseRevokeRequest revoke;
    revoke.set_id(id);
    log::debug("lease expired; revoking", {{"lease-id", id}});
    runtime::spawn(propose_and_forget(member_.driver(), proposal_kind::lease_revoke, revoke.SerializeAsString()));
  }
}

runtime::task<void> lease_service::housekeeping() {
  kv_applier& applier = member_.applier();
  applier.set_lease_answer_sink(std::bind_front(&lease_service::answer_lease_ask, this));  // asks of other members
  while (!member_.stopping()) {
    int slept = co_await runtime::sleep_for(lease_housekeeping_interval);
    if (slept != 0) break;
    if (member_.stopping()) break;
    int64_t now = lease_clock_ms();
    applier.expire_lease_asks(now);
    if (member_.store().lease_primary()) revoke_expired(now);  // promoted/demoted by the node's on_leadership hook
  }
  applier.set_lease_answer_sink({});
  applier.fail_lease_asks(etcd_errors::stopped());
}

}  // namespace ringkv::server
