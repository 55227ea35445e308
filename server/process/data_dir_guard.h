// server/process/data_dir_guard.h — the start-up check that --data-dir is ringkv's to use: refuses (one
// log line saying what was found and what to do) an etcd data dir, unknown files in ringkv's folders or
// a newer format, and writes the format marker into a new or pre-marker ringkv data dir. The rules for
// recognizing ringkv's files are in storage/wal/data_dir.h.
#pragma once

#include <string>
#include <string_view>

#include "storage/wal/data_dir.h"

namespace ringkv::server {

// What to do with an etcd data dir (the README's migration how-to has the whole sequence).
inline constexpr std::string_view etcd_data_dir_advice =
    "ringkv does not read etcd's data and changed nothing in it: to move the data to ringkv, save a "
    "snapshot from the running etcd with `etcdctl snapshot save FILE` and make a ringkv data dir from it "
    "with `ringkv snapshot restore FILE --data-dir NEW_DIR --name ... --initial-cluster ...` (one per "
    "member), or start ringkv with another --data-dir";

// The one refusal line for a verdict that is not usable (empty when it is usable).
std::string data_dir_refusal(const std::string& data_dir, const storage::wal::data_dir_verdict& verdict);

// Inspects the existing data dir `data_dir`; logs and returns false when ringkv must not start on it.
// Otherwise writes the marker if it is missing and returns true. Blocking: start-up only.
bool claim_data_dir(const std::string& data_dir);

}  // namespace ringkv::server
