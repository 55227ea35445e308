// client/mutex.cc - Go's concurrency.Mutex protocol (mutex.h).
#include "client/mutex.h"

#include "client/kv.h"

namespace ringkv::client {
namespace {

range_options first_created(const std::string& prefix) {  // Go: WithFirstCreate
  range_options options;
  options.range_end = prefix_end(prefix);
  options.sort_target = etcdserverpb::RangeRequest::CREATE;
  options.sort_order = etcdserverpb::RangeRequest::ASCEND;
  options.limit = 1;
  return options;
}

}  // namespace

runtime::task<result<int64_t>> mutex::acquire(call_options call) {
  key_ = session_key(prefix_, session_.lease());
  txn t;
  t.when(compare_create(key_, cmp_op::equal, 0))
      .then(op_put(key_, "", with_lease(session_.lease())))
      .then(op_get(prefix_, first_created(prefix_)))
      .otherwise(op_get(key_))
      .otherwise(op_get(prefix_, first_created(prefix_)));
  auto committed = co_await kv(session_.owner()).commit(t, call);
  if (!committed.ok()) co_return result<int64_t>{committed.status, 0};
  const auto& reply = committed.value;
  revision_ = reply.header().revision();
  if (!reply.succeeded()) revision_ = reply.responses(0).response_range().kvs(0).create_revision();
  const auto& owner = reply.responses(1).response_range();
  co_return result<int64_t>{status{}, owner.kvs_size() == 0 ? 0 : owner.kvs(0).create_revision()};
}

runtime::task<status> mutex::try_lock(call_options call) {
  auto owner = co_await acquire(call);
  if (!owner.ok()) co_return owner.status;
  if (owner.value == 0 || owner.value == revision_) co_return status{};
  co_await unlock(call);
  co_return status{grpc_code::failed_precondition, "mutex: Locked by another session"};
}

runtime::task<status> mutex::lock(call_options call) {
  const auto deadline = wait_deadline(call.timeout);
  auto owner = co_await acquire(call);
  if (!owner.ok()) co_return owner.status;
  if (owner.value == 0 || owner.value == revision_) co_return status{};
  const status waited = co_await wait_deletes(session_.owner(), prefix_, revision_ - 1, deadline);
  if (!waited.ok()) {
    co_await unlock({});
    co_return waited;
  }
  // Our key may have gone with an expired session while we waited (Go 3.5's check).
  auto mine = co_await kv(session_.owner()).range(key_, no_range_options, call);
  if (!mine.ok()) co_return mine.status;
  if (mine.value.kvs_size() == 0) co_return status{grpc_code::failed_precondition, "session expired"};
  co_return status{};
}

runtime::task<status> mutex::unlock(call_options call) {
  if (key_.empty()) co_return status{};
  auto deleted = co_await kv(session_.owner()).erase(key_, no_delete_options, call);
  if (deleted.ok()) {
    key_.clear();
    revision_ = -1;
  }
  co_return deleted.status;
}

runtime::task<bool> mutex::wait_lost(std::chrono::nanoseconds timeout) {
  if (key_.empty()) co_return false;
  co_return co_await session_.wait_lost(wait_deadline(timeout));
}

}  // namespace ringkv::client
