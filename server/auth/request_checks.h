// server/auth/request_checks.h — which permissions an etcd KV request needs, as etcd 3.4 checks them
// (apply_auth.go, v3_server.go): Range read; Put write (and read with prev_kv); DeleteRange write over
// its range (and read with prev_kv); Txn read for every compare and every rule above for every
// operation of both branches, nested txns included. The API layer checks before serving, the applier
// again at the request's place in the log. Lease keys (Put with a lease, LeaseRevoke) need the MVCC
// store and are checked by the applier.
#pragma once

#include <cstdint>
#include <string_view>

#include "etcd/rpc.pb.h"
#include "server/auth/auth_store.h"

namespace ringkv::server::auth {

// The identity a request is checked with: user name ("" = none) and the auth revision it was
// established at (0 = none), etcd's AuthInfo.
struct caller {
  std::string user;
  uint64_t auth_revision = 0;
};

auth_errc range_permitted(const auth_store& store, const caller& who, const etcdserverpb::RangeRequest& range);
auth_errc put_permitted(const auth_store& store, const caller& who, const etcdserverpb::PutRequest& put);
auth_errc delete_permitted(const auth_store& store, const caller& who, const etcdserverpb::DeleteRangeRequest& del);
auth_errc txn_permitted(const auth_store& store, const caller& who, const etcdserverpb::TxnRequest& txn);

}  // namespace ringkv::server::auth
