// server/api/validate.h — etcd's request checks, run before a request is proposed: the same conditions and
// the same errors as etcd 3.4's v3rpc (empty key, ignore_value with a value, too many txn ops, a key
// both put and deleted in one txn, ...). Pure functions of the request.
#pragma once

#include "etcd/rpc.pb.h"
#include "server/common/errors.h"

namespace ringkv::server {

rpc_status check_range(const etcdserverpb::RangeRequest& request);
rpc_status check_put(const etcdserverpb::PutRequest& request);
rpc_status check_delete_range(const etcdserverpb::DeleteRangeRequest& request);
// Includes etcd's duplicate-key (overlapping put/delete) check of both branches.
rpc_status check_txn(const etcdserverpb::TxnRequest& request, uint64_t max_txn_ops);

}  // namespace ringkv::server
