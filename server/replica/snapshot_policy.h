// server/replica/snapshot_policy.h — when the node takes a snapshot of its state machine (pure, no I/O).
//
// etcd snapshots every --snapshot-count applied entries, which is cheap there: bbolt already holds the
// state on disk. Ours serializes the whole state, so a snapshot is also held back until as many entry
// bytes were applied since the last one as that snapshot's size: each snapshot then costs at most about
// as much as writing the entries it covers, however large the state grows.
#pragma once

#include <cstdint>

namespace ringkv::server {

struct snapshot_progress {
  uint64_t applied_index = 0;
  uint64_t snapshot_index = 0;        // the last snapshot made durable, loaded or installed
  uint64_t snapshot_bytes = 0;        // its size
  uint64_t applied_bytes_since = 0;   // entry payload bytes applied after it
};

inline bool snapshot_due(const snapshot_progress& progress, uint64_t snapshot_entries) {
  return progress.applied_index >= progress.snapshot_index + snapshot_entries &&
         progress.applied_bytes_since >= progress.snapshot_bytes;
}

}  // namespace ringkv::server
