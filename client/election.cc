// client/election.cc - Go's concurrency.Election protocol (election.h).
#include "client/election.h"

#include "client/kv.h"
#include "client/watch.h"

namespace ringkv::client {

runtime::task<status> election::campaign(std::string value, call_options call) {
  const auto deadline = wait_deadline(call.timeout);
  const std::string key = session_key(prefix_, session_.lease());
  txn t;
  t.when(compare_create(key, cmp_op::equal, 0)).then(op_put(key, value, with_lease(session_.lease()))).otherwise(op_get(key));
  auto committed = co_await kv(session_.owner()).commit(t, call);
  if (!committed.ok()) co_return committed.status;
  key_ = key;
  revision_ = committed.value.header().revision();
  if (!committed.value.succeeded()) {
    const auto& kv_now = committed.value.responses(0).response_range().kvs(0);
    revision_ = kv_now.create_revision();
    if (kv_now.value() != value) {
      const status proclaimed = co_await proclaim(value, call);
      if (!proclaimed.ok()) {
        co_await resign({});
        co_return proclaimed;
      }
    }
  }
  const status waited = co_await wait_deletes(session_.owner(), prefix_, revision_ - 1, deadline);
  if (!waited.ok()) {
    co_await resign({});
    co_return waited;
  }
  co_return status{};
}

runtime::task<status> election::proclaim(std::string value, call_options call) {
  if (key_.empty()) co_return status{grpc_code::failed_precondition, "election: not leader"};
  txn t;
  t.when(compare_create(key_, cmp_op::equal, revision_)).then(op_put(key_, value, with_lease(session_.lease())));
  auto committed = co_await kv(session_.owner()).commit(t, call);
  if (!committed.ok()) co_return committed.status;
  if (!committed.value.succeeded()) {
    key_.clear();
    co_return status{grpc_code::failed_precondition, "election: not leader"};
  }
  co_return status{};
}

runtime::task<status> election::resign(call_options call) {
  if (key_.empty()) co_return status{};
  txn t;
  t.when(compare_create(key_, cmp_op::equal, revision_)).then(op_delete(key_));
  auto committed = co_await kv(session_.owner()).commit(t, call);
  if (committed.ok()) key_.clear();
  co_return committed.status;
}

runtime::task<result<mvccpb::KeyValue>> election::leader(call_options call) {
  range_options first;
  first.range_end = prefix_end(prefix_);
  first.sort_target = etcdserverpb::RangeRequest::CREATE;
  first.sort_order = etcdserverpb::RangeRequest::ASCEND;
  first.limit = 1;
  auto found = co_await kv(session_.owner()).range(prefix_, first, call);
  if (!found.ok()) co_return result<mvccpb::KeyValue>{found.status, {}};
  if (found.value.kvs_size() == 0) co_return result<mvccpb::KeyValue>{status{grpc_code::not_found, "election: no leader"}, {}};
  co_return result<mvccpb::KeyValue>{status{}, found.value.kvs(0)};
}

runtime::task<result<mvccpb::KeyValue>> election::next_leader(const mvccpb::KeyValue& known,
                                                              std::chrono::nanoseconds timeout) {
  const auto deadline = wait_deadline(timeout);
  watch_hub hub(session_.owner());
  result<mvccpb::KeyValue> out{status{grpc_code::deadline_exceeded, "context deadline exceeded"}, {}};
  std::shared_ptr<watcher> changes;
  while (runtime::clock::now() < deadline) {
    auto now_leader = co_await leader();
    const bool differs = now_leader.ok() && (now_leader.value.key() != known.key() ||
                                             now_leader.value.mod_revision() != known.mod_revision());
    if (differs || (!now_leader.ok() && now_leader.status.code != grpc_code::not_found)) {
      out = std::move(now_leader);
      break;
    }
    if (!changes) {  // every change under the prefix after what we just read wakes us
      watch_options after_known;
      after_known.range_end = prefix_end(prefix_);
      after_known.start_revision = known.mod_revision() + 1;
      changes = hub.watch(prefix_, after_known);
    }
    auto batch = co_await changes->next(deadline - runtime::clock::now());
    if (!batch.ok()) {
      out.status = batch.status;
      break;
    }
  }
  co_await hub.close();
  co_return out;
}

runtime::task<bool> election::wait_lost(std::chrono::nanoseconds timeout) {
  if (key_.empty()) co_return false;
  co_return co_await session_.wait_lost(wait_deadline(timeout));
}

}  // namespace ringkv::client
