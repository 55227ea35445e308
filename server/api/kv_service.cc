// server/api/kv_service.cc — see kv_service.h.
#include "server/api/kv_service.h"

#include "server/api/range_stream.h"
#include "server/api/service_support.h"
#include "server/api/space_quota.h"
#include "server/api/validate.h"
#include "server/common/server_metrics.h"

namespace ringkv::server {

using namespace unary;

namespace {

bool txn_writes(const etcdserverpb::TxnRequest& txn) {
  for (const auto* branch : {&txn.success(), &txn.failure()})
    for (const auto& op : *branch)
      if (op.has_request_put() || op.has_request_delete_range() ||
          (op.has_request_txn() && txn_writes(op.request_txn())))
        return true;
  return false;
}

}  // namespace

void kv_service::register_methods(request_pipeline& pipeline, net::grpc::service_registry& registry) {
  service_methods kv(pipeline, registry, *this, "/etcdserverpb.KV/");
  kv.unary("Range", &kv_service::range);
  kv.unary("Put", &kv_service::put);
  kv.unary("DeleteRange", &kv_service::delete_range);
  kv.unary("Txn", &kv_service::txn);
  kv.unary("Compact", &kv_service::compact);
}

runtime::task<unary_outcome> kv_service::range(const etcdserverpb::RangeRequest& request) {
  if (auto s = check_range(request); !s.ok()) co_return failure(s);
  if (!request.serializable()) {
    rpc_status barrier = co_await member_.driver().read_barrier();
    if (!barrier.ok()) co_return failure(barrier);
  }
  node_metrics().mvcc_range.inc();
  mvcc::RangeRequest range = from_proto(request);
  auto streamed = plan_range_stream(member_.store(), range, member_.applier().ids());
  if (!streamed.ok()) co_return failure(to_status(streamed.error()));
  if (streamed.value()) {
    unary_outcome outcome;
    outcome.streamed = std::move(streamed.value());
    co_return outcome;
  }
  auto result = member_.store().range_view(range);
  if (!result.ok()) co_return failure(to_status(result.error()));
  etcdserverpb::RangeResponse response;
  to_proto(result.value(), member_.applier().ids(), &response);
  co_return reply(response);
}

runtime::task<unary_outcome> kv_service::put(const etcdserverpb::PutRequest& request, std::string bytes,
                                             auth::caller who) {
  if (auto s = check_put(request); !s.ok()) co_return failure(s);
  if (auto s = check_space(member_, mvcc::MvccStore::quota_cost(from_proto(request))); !s.ok()) co_return failure(s);
  node_metrics().mvcc_put.inc();
  co_return co_await propose_for(member_, who, proposal_kind::put, std::move(bytes));
}

runtime::task<unary_outcome> kv_service::compact(const etcdserverpb::CompactionRequest& request,
                                                 std::string bytes) {
  unary_outcome outcome = co_await member_.propose(proposal_kind::compaction, std::move(bytes));
  if (request.physical() && outcome.status.ok()) co_await member_.compaction_finished();
  co_return outcome;
}

runtime::task<unary_outcome> kv_service::delete_range(const etcdserverpb::DeleteRangeRequest& request,
                                                      std::string bytes, auth::caller who) {
  if (auto s = check_delete_range(request); !s.ok()) co_return failure(s);
  node_metrics().mvcc_delete.inc();
  co_return co_await propose_for(member_, who, proposal_kind::delete_range, std::move(bytes));
}

runtime::task<unary_outcome> kv_service::txn(const etcdserverpb::TxnRequest& request, std::string bytes,
                                             auth::caller who) {
  if (auto s = check_txn(request, member_.config().max_txn_ops); !s.ok()) co_return failure(s);
  node_metrics().mvcc_txn.inc();
  if (!txn_writes(request)) co_return co_await read_only_txn(request);
  if (auto s = check_space(member_, mvcc::MvccStore::quota_cost(from_proto(request))); !s.ok()) co_return failure(s);
  co_return co_await propose_for(member_, who, proposal_kind::txn, std::move(bytes));
}

// A read-only txn is served after a ReadIndex, like etcd; it changes nothing in the store.
runtime::task<unary_outcome> kv_service::read_only_txn(const etcdserverpb::TxnRequest& request) {
  rpc_status barrier = co_await member_.driver().read_barrier();
  if (!barrier.ok()) co_return failure(barrier);
  auto result = member_.store().txn(from_proto(request));
  if (!result.ok()) co_return failure(to_status(result.error()));
  etcdserverpb::TxnResponse response;
  to_proto(result.value(), member_.applier().ids(), &response);
  co_return reply(response);
}

}  // namespace ringkv::server
