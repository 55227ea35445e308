// server/api/lease_service.cc — etcd's Lease service (Grant, Revoke, KeepAlive stream, TimeToLive, Leases)
// and the leader's lease housekeeping: expired leases are revoked through raft, as etcd's lessor does.
// Only the leader keeps lease expiry, so on any other member KeepAlive and TimeToLive ask it through
// the log (lease_ask / lease_answer entries, see raft_payload.h), where etcd forwards them over HTTP.
#include <memory>
#include <optional>
#include <random>

#include "runtime/spawn.h"
#include "runtime/timer.h"
#include "server/api/etcd_server.h"
#include "runtime/log.h"
#include "server/common/unary_helpers.h"

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
runtime::task<lease_reply> ask_leader(raft_driver& n, kv_applier& applier, lease_ask_mode mode, int64_t lease_id,
                                      std::chrono::milliseconds timeout) {
  runtime::completion<lease_reply> done;
  lease_ask ask = applier.begin_lease_ask(mode, lease_id, &done, lease_clock_ms() + timeout.count());
  apply_result proposed = co_await n.propose(proposal_kind::lease_ask, encode_lease_ask(ask));
  if (!proposed.status.ok()) {
    applier.abandon_lease_ask(ask.nonce);
    if (!done.done()) co_return lease_reply{proposed.status, 0};
  }
  co_return co_await done;
}

// A LeaseKeepAlive stream on a member that is not the leader: the stream ends (after the client's
// half-close) only once every keepalive it forwarded has been answered, as etcd answers each in turn.
struct forwarded_keep_alives {
  size_t in_flight = 0;
  bool half_closed = false;
};

// One keepalive received by a member that is not the leader.
runtime::task<void> keep_alive_through_leader(raft_driver& n, kv_applier& applier, const mvcc::MvccStore& store,
                                              call_ref call, std::shared_ptr<forwarded_keep_alives> stream,
                                              int64_t lease_id, std::chrono::milliseconds timeout) {
  lease_reply answer = co_await ask_leader(n, applier, lease_ask_mode::renew, lease_id, timeout);
  --stream->in_flight;
  if (!call->alive()) co_return;
  if (!answer.status.ok()) {  // as etcd: an error other than "lease not found" ends the stream
    call->finish(to_grpc(answer.status));
    co_return;
  }
  etcdserverpb::LeaseKeepAliveResponse response;
  fill_header(response.mutable_header(), applier.ids(), store.current_revision());
  response.set_id(lease_id);
  response.set_ttl(answer.ttl_s);  // 0: unknown or expired, as etcd answers
  call->write_message(response);
  if (stream->half_closed && stream->in_flight == 0) call->finish(net::grpc::status::success());
}

}  // namespace

runtime::task<unary_outcome> etcd_server::lease_grant(std::string bytes) {
  etcdserverpb::LeaseGrantRequest request;
  if (!parse(request, bytes)) co_return failure(malformed());
  if (request.ttl() > mvcc::max_lease_ttl_s) co_return failure(etcd_errors::lease_ttl_too_large());
  if (auto s = check_space(mvcc::MvccStore::quota_cost_lease_grant()); !s.ok()) co_return failure(s);
  if (request.id() == 0) request.set_id(random_lease_id());  // chosen before proposing: apply is deterministic
  co_return co_await replica_.propose(proposal_kind::lease_grant, request.SerializeAsString());
}

runtime::task<unary_outcome> etcd_server::lease_revoke(std::string bytes) {
  etcdserverpb::LeaseRevokeRequest request;
  if (!parse(request, bytes)) co_return failure(malformed());
  co_return co_await replica_.propose(proposal_kind::lease_revoke, std::move(bytes));
}

runtime::task<unary_outcome> etcd_server::lease_time_to_live(std::string bytes) {
  etcdserverpb::LeaseTimeToLiveRequest request;
  if (!parse(request, bytes)) co_return failure(malformed());
  std::optional<int64_t> leader_ttl_s;  // the remaining TTL as the leader knows it (asked from elsewhere)
  if (!store_.lease_primary()) {
    lease_reply answer = co_await ask_leader(driver_, applier_, lease_ask_mode::time_to_live, request.id(),
                                             lease_ask_timeout(config_));
    if (!answer.status.ok()) co_return failure(answer.status);
    leader_ttl_s = answer.ttl_s;
  }
  etcdserverpb::LeaseTimeToLiveResponse response;
  fill_header(response.mutable_header(), applier_.ids(), store_.current_revision());
  response.set_id(request.id());
  auto result = store_.lease_time_to_live(request.id(), lease_clock_ms(), request.keys());
  if (result.ok() && leader_ttl_s && *leader_ttl_s < 0) result = mvcc::Errc::lease_not_found;
  if (!result.ok()) {
    if (result.error() != mvcc::Errc::lease_not_found) co_return failure(to_status(result.error()));
    response.set_ttl(-1);  // etcd answers an unknown lease with TTL -1, not an error
    co_return reply(response);
  }
  response.set_ttl(leader_ttl_s.value_or(result->ttl_s));
  response.set_grantedttl(result->granted_ttl_s);
  for (const auto& key : result->keys) response.add_keys(key);
  co_return reply(response);
}

runtime::task<unary_outcome> etcd_server::lease_leases(std::string bytes) {
  etcdserverpb::LeaseLeasesRequest request;
  if (!parse(request, bytes)) co_return failure(malformed());
  etcdserverpb::LeaseLeasesResponse response;
  fill_header(response.mutable_header(), applier_.ids(), store_.current_revision());
  for (mvcc::lease_id_t id : store_.lease_list()) response.add_leases()->set_id(id);
  co_return reply(response);
}

void etcd_server::on_lease_keep_alive(const call_ref& call) {
  net::grpc::server_call::stream_callbacks callbacks;
  net::grpc::server_call* raw = call.get();
  auto forwarded = std::make_shared<forwarded_keep_alives>();
  callbacks.on_message = [this, raw, forwarded](std::string_view bytes) {
    etcdserverpb::LeaseKeepAliveRequest request;
    if (!request.ParseFromArray(bytes.data(), int(bytes.size()))) {
      raw->finish(to_grpc(malformed()));
      return;
    }
    if (!store_.lease_primary()) {  // not the leader: ask it (answers may overtake each other, by id)
      ++forwarded->in_flight;
      runtime::spawn(keep_alive_through_leader(driver_, applier_, store_, call_ref(raw), forwarded, request.id(),
                                               lease_ask_timeout(config_)));
      return;
    }
    etcdserverpb::LeaseKeepAliveResponse response;
    fill_header(response.mutable_header(), applier_.ids(), store_.current_revision());
    response.set_id(request.id());
    auto renewed = store_.lease_renew(request.id(), lease_clock_ms());
    if (renewed.ok()) {
      response.set_ttl(renewed->ttl_s);
    } else if (renewed.error() == mvcc::Errc::not_primary) {
      raw->finish(to_grpc(etcd_errors::no_leader()));
      return;
    }  // an unknown or expired lease is answered with TTL 0, as etcd does
    raw->write_message(response);
  };
  callbacks.on_half_close = [raw, forwarded] {
    forwarded->half_closed = true;
    if (forwarded->in_flight == 0) raw->finish(net::grpc::status::success());
  };
  callbacks.on_cancel = [] {};
  call->set_stream_callbacks(std::move(callbacks));
}

runtime::task<void> etcd_server::lease_housekeeping() {
  applier_.set_lease_answer_sink([this](std::string answer) {  // the leader answers other members' asks
    runtime::spawn(propose_and_forget(driver_, proposal_kind::lease_answer, std::move(answer)));
  });
  while (!replica_.stopping()) {
    int slept = co_await runtime::sleep_for(lease_housekeeping_interval);
    if (slept != 0) break;
    if (replica_.stopping()) break;
    int64_t now = lease_clock_ms();
    applier_.expire_lease_asks(now);
    if (!store_.lease_primary()) continue;  // promoted/demoted by the node's on_leadership hook
    for (mvcc::lease_id_t id : store_.lease_expired(now, expired_leases_per_round_max)) {
      etcdserverpb::LeaseRevokeRequest revoke;
      revoke.set_id(id);
      log::debug("lease expired; revoking", {{"lease-id", id}});
      runtime::spawn(propose_and_forget(driver_, proposal_kind::lease_revoke, revoke.SerializeAsString()));
    }
  }
  applier_.set_lease_answer_sink({});
  applier_.fail_lease_asks(etcd_errors::stopped());
}

}  // namespace ringkv::server
