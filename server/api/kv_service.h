// server/api/kv_service.h — etcd's KV service: Range (after a ReadIndex unless serializable), Put,
// DeleteRange, Txn (a read-only Txn is served locally after a ReadIndex, a writing one through raft)
// and Compact. Writes are checked (validate.h, the space quota) and proposed as their request bytes.
//
//   Put ─ check_put ─ check_space ─> replica.propose(put, bytes) ─apply─> PutResponse bytes
//   Range ─ check_range ─ driver.read_barrier() ─> store.range_view ─> RangeResponse
#pragma once

#include <string>

#include "etcd/rpc.pb.h"
#include "net/grpc/service_registry.h"
#include "runtime/task.h"
#include "server/api/request_pipeline.h"
#include "server/replica/replica.h"

namespace ringkv::server {

class kv_service {
 public:
  explicit kv_service(replica& member) : member_(member) {}
  void register_methods(request_pipeline& pipeline, net::grpc::service_registry& registry);

 private:
  runtime::task<unary_outcome> range(const etcdserverpb::RangeRequest& request);
  runtime::task<unary_outcome> put(const etcdserverpb::PutRequest& request, std::string bytes, auth::caller who);
  runtime::task<unary_outcome> delete_range(const etcdserverpb::DeleteRangeRequest& request, std::string bytes,
                                            auth::caller who);
  runtime::task<unary_outcome> txn(const etcdserverpb::TxnRequest& request, std::string bytes, auth::caller who);
  // physical=true: answered once the compaction's memory is released (its steps run between requests).
  runtime::task<unary_outcome> compact(const etcdserverpb::CompactionRequest& request, std::string bytes);
  runtime::task<unary_outcome> read_only_txn(const etcdserverpb::TxnRequest& request);

  replica& member_;
};

}  // namespace ringkv::server
