// server/process/descriptor_limit.h — raising the soft descriptor limit (RLIMIT_NOFILE) to the hard
// limit at start, as Go does for etcd: the member's WAL, snapshots and peers must never run short
// because clients took every descriptor (the client cap, server/frontend/connection_cap.h, is computed
// from the raised limit).
#pragma once

#include <cstddef>

namespace ringkv::server {

// Raises the soft limit to the hard one (logged when it changes); returns the soft limit now in force
// (SIZE_MAX when unlimited).
size_t raise_descriptor_limit();

}  // namespace ringkv::server
