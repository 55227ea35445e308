// server/process/snapshot_command.h: `ringkv snapshot ...`, the offline snapshot tool (no server is
// started): `ringkv snapshot status FILE [-w simple|table|json]` prints what `etcdctl snapshot status`
// prints for an etcd 3.4 snapshot file (ringkv's Maintenance.Snapshot output or etcd's);
// `ringkv snapshot restore FILE ...` makes a ringkv data dir from one (snapshot_restore.h).
#pragma once

#include <string>
#include <vector>

namespace ringkv::server {

// args: everything after "snapshot". Returns the process exit status (0 ok, 1 error, 2 bad usage).
int run_snapshot_command(const std::vector<std::string>& args);

}  // namespace ringkv::server
