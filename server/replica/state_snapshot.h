// server/replica/state_snapshot.h — the member's raft snapshot bytes (membership section, then the state
// machine: alarms and the MVCC store) begun at an entry boundary and written a slice at a time, so a
// large state never stalls the raft shard (node_hooks::begin_snapshot).
#pragma once

#include <cstddef>
#include <string>

#include "server/replica/kv_applier.h"
#include "server/replica/membership.h"
#include "server/replica/raft_driver.h"

namespace ringkv::server {

// Bytes appended per slice: about a millisecond of serializing, then the loop's other work runs.
inline constexpr size_t snapshot_slice_bytes = 256 * 1024;

// Writes the membership section and the alarms into `out` now; the returned stepper appends the MVCC
// store's keys slice by slice. `out` must stay at its address and be only appended to until it is done.
snapshot_stepper begin_state_snapshot(const membership& members, const kv_applier& applier, std::string& out);

// Whether snapshot bytes (from begin_state_snapshot, e.g. sent by a leader) decode, checked before raft
// takes the snapshot in: a dry parse, nothing is built.
bool state_snapshot_decodes(std::string_view data);

}  // namespace ringkv::server
