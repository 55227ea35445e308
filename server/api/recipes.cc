// server/api/recipes.cc — see recipes.h.
#include "server/api/recipes.h"

#include <cstdio>

#include "server/api/service_support.h"
#include "server/replica/kv_convert.h"

namespace ringkv::server {

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

namespace {

// if create_revision(key) == create_revision
void compare_created_at(etcdserverpb::TxnRequest& txn, const std::string& key, int64_t create_revision) {
  auto* compare = txn.add_compare();
  compare->set_key(key);
  compare->set_target(etcdserverpb::Compare::CREATE);
  compare->set_result(etcdserverpb::Compare::EQUAL);
  compare->set_create_revision(create_revision);
}

}  // namespace

std::string holder_key(const std::string& prefix, int64_t lease) {
  char hex[24];
  std::snprintf(hex, sizeof hex, "%llx", static_cast<unsigned long long>(lease));
  return prefix + hex;
}

std::optional<mvcc::KeyValue> recipes::oldest_under(const std::string& prefix) const {
  mvcc::RangeRequest request;
  request.key = prefix;
  request.range_end = prefix_end(prefix);
  request.sort_order = mvcc::SortOrder::ascend;
  request.sort_target = mvcc::SortTarget::create;
  request.limit = 1;
  auto result = member_.store().range(request);
  if (!result.ok() || result->kvs.empty()) return std::nullopt;
  return result->kvs.front();
}

runtime::task<rpc_status> recipes::next_apply() {
  runtime::completion<rpc_status> changed;
  waiters_.add(changed);
  co_return co_await changed;
}

runtime::task<rpc_status> recipes::wait_for_turn(std::string prefix, int64_t create_revision) {
  while (true) {
    auto oldest = oldest_under(prefix);
    if (!oldest || oldest->create_revision >= create_revision) co_return rpc_status{};
    rpc_status status = co_await next_apply();  // re-checked after every applied batch
    if (!status.ok()) co_return status;
  }
}

rpc_status recipes::permitted(const auth::caller& who, const std::string& key, const std::string& range_end,
                              auth::access need) const {
  return auth::to_recipe_status(
      member_.applier().auth().op_permitted(who.user, who.auth_revision, key, range_end, need));
}

rpc_status recipes::key_read_writable(const auth::caller& who, const std::string& key) const {
  rpc_status readable = permitted(who, key, {}, auth::access::read);
  return readable.ok() ? permitted(who, key, {}, auth::access::write) : readable;
}

runtime::task<rpc_status> recipes::run_txn(const etcdserverpb::TxnRequest& txn, etcdserverpb::TxnResponse& response,
                                           const auth::caller& who) {
  apply_result outcome = co_await propose_for(member_, who, proposal_kind::txn, txn.SerializeAsString());
  if (!outcome.status.ok()) co_return auth::as_recipe_status(outcome.status);  // refused when applied
  if (!response.ParseFromString(outcome.response)) co_return rpc_status{grpc_code::internal, "ringkv: bad txn response"};
  co_return rpc_status{};
}

runtime::task<rpc_status> recipes::run_if_created_at(const std::string& key, int64_t create_revision,
                                                     etcdserverpb::RequestOp then,
                                                     etcdserverpb::TxnResponse& response,
                                                     const auth::caller& who) {
  etcdserverpb::TxnRequest txn;
  compare_created_at(txn, key, create_revision);
  *txn.add_success() = std::move(then);
  co_return co_await run_txn(txn, response, who);
}

runtime::task<rpc_status> recipes::take_turn(std::string name, int64_t lease, std::string value,
                                             recipe_holder& held, const auth::caller& who) {
  if (lease == 0) co_return etcd_errors::lease_not_found();
  std::string prefix = name + "/";
  held.key = holder_key(prefix, lease);
  if (rpc_status s = key_read_writable(who, held.key); !s.ok()) co_return s;
  if (rpc_status s = prefix_readable(who, prefix); !s.ok()) co_return s;
  co_return co_await acquire(prefix, held.key, lease, std::move(value), held.create_revision, who);
}

runtime::task<rpc_status> recipes::acquire(std::string prefix, std::string key, int64_t lease, std::string value,
                                           int64_t& create_revision, const auth::caller& who) {
  // if create_revision(key) == 0 then put(key, value, lease) ; get(key)
  etcdserverpb::TxnRequest txn;
  compare_created_at(txn, key, 0);
  auto* put = txn.add_success()->mutable_request_put();
  put->set_key(key);
  put->set_value(value);
  put->set_lease(lease);
  txn.add_success()->mutable_request_range()->set_key(key);
  txn.add_failure()->mutable_request_range()->set_key(key);
  etcdserverpb::TxnResponse response;
  if (auto s = co_await run_txn(txn, response, who); !s.ok()) co_return s;
  const auto& range = response.responses(response.succeeded() ? 1 : 0).response_range();
  if (range.kvs_size() == 0) co_return etcd_errors::lease_not_found();  // the lease expired meanwhile
  create_revision = range.kvs(0).create_revision();
  co_return co_await wait_for_turn(std::move(prefix), create_revision);
}

}  // namespace ringkv::server
