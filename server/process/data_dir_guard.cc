// server/process/data_dir_guard.cc — refusing a data dir ringkv did not make, marking one it did.
#include "server/process/data_dir_guard.h"

#include <exception>

#include "runtime/log.h"

namespace ringkv::server {

using storage::wal::data_dir_kind;

std::string data_dir_refusal(const std::string& data_dir, const storage::wal::data_dir_verdict& verdict) {
  switch (verdict.kind) {
    case data_dir_kind::etcd:
      return "data dir " + data_dir + " holds an etcd data dir (" + verdict.found() + "); " +
             std::string(etcd_data_dir_advice);
    case data_dir_kind::foreign:
      return "data dir " + data_dir + " holds files ringkv did not write in its own folders (" + verdict.found() +
             "); ringkv changed nothing: move them out of the data dir, or start ringkv with another --data-dir";
    case data_dir_kind::newer_format:
      return "data dir " + data_dir + " was written by a newer ringkv (data dir format " +
             std::to_string(verdict.marker_version) + ", this build reads format " +
             std::to_string(storage::wal::data_dir_format_version) + "); start that ringkv version on it";
    case data_dir_kind::empty:
    case data_dir_kind::ringkv:
    case data_dir_kind::ringkv_unmarked:
      return {};
  }
  return {};
}

bool claim_data_dir(const std::string& data_dir) {
  try {
    const storage::wal::data_dir_verdict verdict = storage::wal::inspect_data_dir(data_dir);
    if (const std::string refusal = data_dir_refusal(data_dir, verdict); !refusal.empty()) {
      log::error(refusal, {{"data-dir", data_dir}, {"found", verdict.found()}});
      return false;
    }
    if (verdict.kind == data_dir_kind::ringkv) return true;
    storage::wal::write_data_dir_marker(data_dir);
    if (verdict.kind == data_dir_kind::ringkv_unmarked) {
      log::info("marked a data dir made by an earlier ringkv with its format",
                {{"data-dir", data_dir}, {"format", uint64_t(storage::wal::data_dir_format_version)}});
    }
    return true;
  } catch (const std::exception& error) {
    log::error("cannot inspect the data dir", {{"data-dir", data_dir}, {"error", error.what()}});
    return false;
  }
}

}  // namespace ringkv::server
