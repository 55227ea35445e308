// server/api/space_quota.h — etcd's backend quota (--quota-backend-bytes) for the writes that grow the
// store (Put, a writing Txn, LeaseGrant): once a write would not fit, the member raises the NOSPACE
// alarm through raft (once; it survives restarts) and refuses writes until the alarm is disarmed.
#pragma once

#include <cstdint>

#include "server/common/errors.h"
#include "server/replica/replica.h"

namespace ringkv::server {

// ok, or NOSPACE (proposing the alarm the first time).
rpc_status check_space(replica& member, int64_t cost);

}  // namespace ringkv::server
