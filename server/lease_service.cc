// server/lease_service.cc — etcd's Lease service (Grant, Revoke, KeepAlive stream, TimeToLive, Leases)
// and the leader's lease housekeeping: expired leases are revoked through raft, as etcd's lessor does.
#include <random>

#include "runtime/spawn.h"
#include "runtime/timer.h"
#include "server/etcd_server.h"
#include "server/log.h"
#include "server/unary_helpers.h"

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

}  // namespace

runtime::task<unary_outcome> etcd_server::lease_grant(std::string bytes) {
  etcdserverpb::LeaseGrantRequest request;
  if (!parse(request, bytes)) co_return failure(malformed());
  if (request.ttl() > mvcc::max_lease_ttl_s) co_return failure(etcd_errors::lease_ttl_too_large());
  if (auto s = check_space(mvcc::MvccStore::quota_cost_lease_grant()); !s.ok()) co_return failure(s);
  if (request.id() == 0) request.set_id(random_lease_id());  // chosen before proposing: apply is deterministic
  co_return co_await propose(proposal_kind::lease_grant, request.SerializeAsString());
}

runtime::task<unary_outcome> etcd_server::lease_revoke(std::string bytes) {
  etcdserverpb::LeaseRevokeRequest request;
  if (!parse(request, bytes)) co_return failure(malformed());
  co_return co_await propose(proposal_kind::lease_revoke, std::move(bytes));
}

runtime::task<unary_outcome> etcd_server::lease_time_to_live(std::string bytes) {
  etcdserverpb::LeaseTimeToLiveRequest request;
  if (!parse(request, bytes)) co_return failure(malformed());
  etcdserverpb::LeaseTimeToLiveResponse response;
  fill_header(response.mutable_header(), applier_.ids(), store_.current_revision());
  response.set_id(request.id());
  auto result = store_.lease_time_to_live(request.id(), lease_clock_ms(), request.keys());
  if (!result.ok()) {
    if (result.error() != mvcc::Errc::lease_not_found) co_return failure(to_status(result.error()));
    response.set_ttl(-1);  // etcd answers an unknown lease with TTL -1, not an error
    co_return reply(response);
  }
  response.set_ttl(result->ttl_s);
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
  callbacks.on_message = [this, raw](std::string_view bytes) {
    etcdserverpb::LeaseKeepAliveRequest request;
    if (!request.ParseFromArray(bytes.data(), int(bytes.size()))) {
      raw->finish(to_grpc(malformed()));
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
  callbacks.on_half_close = [raw] { raw->finish(net::grpc::status::success()); };
  callbacks.on_cancel = [] {};
  call->set_stream_callbacks(std::move(callbacks));
}

runtime::task<void> etcd_server::lease_housekeeping() {
  lease_task_running_ = true;
  while (!stopping_) {
    int slept = co_await runtime::sleep_for(lease_housekeeping_interval);
    if (slept != 0) break;
    if (stopping_) break;
    int64_t now = lease_clock_ms();
    if (!store_.lease_primary()) continue;  // promoted/demoted by the node's on_leadership hook
    for (mvcc::lease_id_t id : store_.lease_expired(now, expired_leases_per_round_max)) {
      etcdserverpb::LeaseRevokeRequest revoke;
      revoke.set_id(id);
      log::debug("lease expired; revoking", {{"lease-id", id}});
      runtime::spawn([](node& n, std::string bytes) -> runtime::task<void> {
        co_await n.propose(proposal_kind::lease_revoke, std::move(bytes));
      }(node_, revoke.SerializeAsString()));
    }
  }
  lease_task_running_ = false;
}

}  // namespace ringkv::server
