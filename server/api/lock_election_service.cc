// server/api/lock_election_service.cc — etcd's v3lock (Lock/Unlock) and v3election (Campaign, Proclaim,
// Leader, Observe, Resign) services, run server-side with the key layout of etcd's client recipes
// (clientv3/concurrency), so clients mixing the services and the recipes interoperate:
//   the key of a holder/candidate is  <name>/<lease id in hex>, created with that lease;
//   the holder/leader is the key with the lowest create revision under <name>/.
#include <cstdio>

#include "etcd/v3election.pb.h"
#include "etcd/v3lock.pb.h"
#include "runtime/spawn.h"
#include "server/api/etcd_server.h"
#include "server/common/unary_helpers.h"

namespace ringkv::server {

using namespace unary;
using net::grpc::call_ref;

namespace {

// etcd's GetPrefixRangeEnd: the smallest key greater than every key with this prefix.
std::string prefix_end(std::string prefix) {
  for (size_t i = prefix.size(); i > 0; --i) {
    if (uint8_t(prefix[i - 1]) < 0xff) {
      prefix[i - 1] = char(uint8_t(prefix[i - 1]) + 1);
      prefix.resize(i);
      return prefix;
    }
  }
  return std::string(1, '\0');
}

std::string holder_key(const std::string& prefix, int64_t lease) {
  char hex[24];
  std::snprintf(hex, sizeof hex, "%llx", static_cast<unsigned long long>(lease));
  return prefix + hex;
}

rpc_status election_error(const char* message) { return {grpc_code::unknown, message}; }

}  // namespace

void etcd_server::wake_apply_waiters(const rpc_status& status) {
  std::vector<runtime::completion<rpc_status>*> waiters;
  waiters.swap(apply_waiters_);
  for (auto* waiter : waiters) waiter->set(status);
}

std::optional<mvcc::KeyValue> etcd_server::oldest_under(const std::string& prefix) const {
  mvcc::RangeRequest request;
  request.key = prefix;
  request.range_end = prefix_end(prefix);
  request.sort_order = mvcc::SortOrder::ascend;
  request.sort_target = mvcc::SortTarget::create;
  request.limit = 1;
  auto result = store_.range(request);
  if (!result.ok() || result->kvs.empty()) return std::nullopt;
  return result->kvs.front();
}

runtime::task<rpc_status> etcd_server::wait_for_turn(std::string prefix, int64_t create_revision) {
  while (true) {
    auto oldest = oldest_under(prefix);
    if (!oldest || oldest->create_revision >= create_revision) co_return rpc_status{};
    runtime::completion<rpc_status> changed;  // re-checked after every applied batch
    apply_waiters_.push_back(&changed);
    rpc_status status = co_await changed;
    if (!status.ok()) co_return status;
  }
}

runtime::task<rpc_status> etcd_server::run_txn(const etcdserverpb::TxnRequest& txn,
                                               etcdserverpb::TxnResponse& response) {
  unary_outcome outcome = co_await replica_.propose(proposal_kind::txn, txn.SerializeAsString());
  if (!outcome.status.ok()) co_return outcome.status;
  if (!response.ParseFromString(outcome.response)) co_return rpc_status{grpc_code::internal, "ringkv: bad txn response"};
  co_return rpc_status{};
}

runtime::task<rpc_status> etcd_server::acquire(std::string prefix, std::string key, int64_t lease,
                                               std::string value, int64_t& create_revision) {
  // if create_revision(key) == 0 then put(key, value, lease) ; get(key)
  etcdserverpb::TxnRequest txn;
  auto* compare = txn.add_compare();
  compare->set_key(key);
  compare->set_target(etcdserverpb::Compare::CREATE);
  compare->set_result(etcdserverpb::Compare::EQUAL);
  compare->set_create_revision(0);
  auto* put = txn.add_success()->mutable_request_put();
  put->set_key(key);
  put->set_value(value);
  put->set_lease(lease);
  txn.add_success()->mutable_request_range()->set_key(key);
  txn.add_failure()->mutable_request_range()->set_key(key);
  etcdserverpb::TxnResponse response;
  if (auto s = co_await run_txn(txn, response); !s.ok()) co_return s;
  const auto& range = response.responses(response.succeeded() ? 1 : 0).response_range();
  if (range.kvs_size() == 0) co_return etcd_errors::lease_not_found();  // the lease expired meanwhile
  create_revision = range.kvs(0).create_revision();
  co_return co_await wait_for_turn(std::move(prefix), create_revision);
}

runtime::task<unary_outcome> etcd_server::lock(std::string bytes) {
  v3lockpb::LockRequest request;
  if (!parse(request, bytes)) co_return failure(malformed());
  if (request.lease() == 0) co_return failure(etcd_errors::lease_not_found());
  std::string prefix = request.name() + "/";
  std::string key = holder_key(prefix, request.lease());
  int64_t create_revision = 0;
  if (auto s = co_await acquire(prefix, key, request.lease(), "", create_revision); !s.ok()) co_return failure(s);
  v3lockpb::LockResponse response;
  fill_header(response.mutable_header(), applier_.ids(), store_.current_revision());
  response.set_key(key);
  co_return reply(response);
}

runtime::task<unary_outcome> etcd_server::unlock(std::string bytes) {
  v3lockpb::UnlockRequest request;
  if (!parse(request, bytes)) co_return failure(malformed());
  etcdserverpb::DeleteRangeRequest del;
  del.set_key(request.key());
  unary_outcome deleted = co_await replica_.propose(proposal_kind::delete_range, del.SerializeAsString());
  if (!deleted.status.ok()) co_return deleted;
  v3lockpb::UnlockResponse response;
  fill_header(response.mutable_header(), applier_.ids(), store_.current_revision());
  co_return reply(response);
}

runtime::task<unary_outcome> etcd_server::campaign(std::string bytes) {
  v3electionpb::CampaignRequest request;
  if (!parse(request, bytes)) co_return failure(malformed());
  if (request.lease() == 0) co_return failure(etcd_errors::lease_not_found());
  std::string prefix = request.name() + "/";
  std::string key = holder_key(prefix, request.lease());
  int64_t create_revision = 0;
  if (auto s = co_await acquire(prefix, key, request.lease(), request.value(), create_revision); !s.ok())
    co_return failure(s);
  v3electionpb::CampaignResponse response;
  fill_header(response.mutable_header(), applier_.ids(), store_.current_revision());
  auto* leader = response.mutable_leader();
  leader->set_name(request.name());
  leader->set_key(key);
  leader->set_rev(create_revision);
  leader->set_lease(request.lease());
  co_return reply(response);
}

runtime::task<unary_outcome> etcd_server::proclaim(std::string bytes) {
  v3electionpb::ProclaimRequest request;
  if (!parse(request, bytes)) co_return failure(malformed());
  etcdserverpb::TxnRequest txn;  // only the current leader (same key, same create revision) may proclaim
  auto* compare = txn.add_compare();
  compare->set_key(request.leader().key());
  compare->set_target(etcdserverpb::Compare::CREATE);
  compare->set_result(etcdserverpb::Compare::EQUAL);
  compare->set_create_revision(request.leader().rev());
  auto* put = txn.add_success()->mutable_request_put();
  put->set_key(request.leader().key());
  put->set_value(request.value());
  put->set_lease(request.leader().lease());
  etcdserverpb::TxnResponse result;
  if (auto s = co_await run_txn(txn, result); !s.ok()) co_return failure(s);
  if (!result.succeeded()) co_return failure(election_error("election: not leader"));
  v3electionpb::ProclaimResponse response;
  fill_header(response.mutable_header(), applier_.ids(), store_.current_revision());
  co_return reply(response);
}

runtime::task<unary_outcome> etcd_server::leader(std::string bytes) {
  v3electionpb::LeaderRequest request;
  if (!parse(request, bytes)) co_return failure(malformed());
  rpc_status barrier = co_await driver_.read_barrier();
  if (!barrier.ok()) co_return failure(barrier);
  auto oldest = oldest_under(request.name() + "/");
  if (!oldest) co_return failure(election_error("election: no leader"));
  v3electionpb::LeaderResponse response;
  fill_header(response.mutable_header(), applier_.ids(), store_.current_revision());
  to_proto(*oldest, response.mutable_kv());
  co_return reply(response);
}

runtime::task<unary_outcome> etcd_server::resign(std::string bytes) {
  v3electionpb::ResignRequest request;
  if (!parse(request, bytes)) co_return failure(malformed());
  etcdserverpb::TxnRequest txn;
  auto* compare = txn.add_compare();
  compare->set_key(request.leader().key());
  compare->set_target(etcdserverpb::Compare::CREATE);
  compare->set_result(etcdserverpb::Compare::EQUAL);
  compare->set_create_revision(request.leader().rev());
  txn.add_success()->mutable_request_delete_range()->set_key(request.leader().key());
  etcdserverpb::TxnResponse result;
  if (auto s = co_await run_txn(txn, result); !s.ok()) co_return failure(s);
  v3electionpb::ResignResponse response;
  fill_header(response.mutable_header(), applier_.ids(), store_.current_revision());
  co_return reply(response);
}

void etcd_server::on_observe(const call_ref& call, std::string_view bytes) {
  v3electionpb::LeaderRequest request;
  if (!request.ParseFromArray(bytes.data(), int(bytes.size()))) {
    call->finish(to_grpc(malformed()));
    return;
  }
  // Streams the leader's key-value whenever the leader or its value changes, until the client leaves.
  runtime::spawn([](etcd_server& self, call_ref call, std::string prefix) -> runtime::task<void> {
    int64_t sent_mod_revision = 0;
    int64_t sent_create_revision = 0;
    while (call->alive()) {
      auto oldest = self.oldest_under(prefix);
      if (oldest && (oldest->create_revision != sent_create_revision || oldest->mod_revision != sent_mod_revision)) {
        v3electionpb::LeaderResponse response;
        fill_header(response.mutable_header(), self.applier_.ids(), self.store_.current_revision());
        to_proto(*oldest, response.mutable_kv());
        if (!call->write_message(response)) co_return;
        sent_create_revision = oldest->create_revision;
        sent_mod_revision = oldest->mod_revision;
      }
      runtime::completion<rpc_status> changed;
      self.apply_waiters_.push_back(&changed);
      if (!(co_await changed).ok()) break;
    }
    if (call->alive()) call->finish(to_grpc(etcd_errors::stopped()));
  }(*this, call, request.name() + "/"));
}

}  // namespace ringkv::server
