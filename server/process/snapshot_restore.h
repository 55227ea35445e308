// server/process/snapshot_restore.h: `ringkv snapshot restore FILE --data-dir DIR --name NAME
// --initial-cluster ... --initial-cluster-token ... --initial-advertise-peer-urls ... [--skip-hash-check]`
// (etcdctl's flags and meaning): turns an etcd 3.4 snapshot file into a ringkv data dir for one member.
// The file comes from `etcdctl snapshot save` against etcd or ringkv (the same format), or is one of
// ringkv's snapshots from before it wrote etcd's format ("RKVMVCC1...", sha256-sealed).
//
// The dir holds its marker (ringkv.version, storage/wal/data_dir.h) and one raft snapshot (member/snap/<term 1>-<index 1>.snap): the members named by the flags
// (ids derived exactly as the server derives them, so every member restored with the same flags agrees)
// and the state machine - the snapshot's key history with its revisions, compaction point and leases,
// no alarms. The server started on it begins from that snapshot (raft log at index 1, term 1) with a
// new WAL. Leases follow etcd's rule: they keep their granted TTL and start counting again once a
// leader is elected. Everything is written to DIR.restore-tmp and renamed to DIR at the end, so a
// failure (bad snapshot, bad flags, I/O error) leaves no half-made data dir; DIR must not exist.
#pragma once

#include <string>
#include <vector>

namespace ringkv::server {

// args: everything after "snapshot restore". Returns the exit status (0 ok, 1 error, 2 bad usage).
int run_snapshot_restore(const std::vector<std::string>& args);

}  // namespace ringkv::server
