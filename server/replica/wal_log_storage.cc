// server/replica/wal_log_storage.cc — see wal_log_storage.h.
#include "server/replica/wal_log_storage.h"

#include <vector>

#include "server/common/server_metrics.h"

namespace ringkv::server {

runtime::task<void> wal_log_storage::append(const std::optional<raft::HardState>& hard_state,
                                            std::span<const raft::Entry> entries) {
  // Not a coroutine: wal_.append encodes the records into its open batch now (so the WAL's order is
  // ready()'s order) and returns the task that completes at their fdatasync.
  std::vector<storage::wal::entry_view> views;
  views.reserve(entries.size());
  size_t bytes = 0;
  for (const auto& e : entries) {
    views.push_back({e.index, e.term, uint32_t(e.type),
                     std::string_view(reinterpret_cast<const char*>(e.data.data()), e.data.size())});
    bytes += e.data.size();
  }
  node_metrics().wal_write_bytes.inc(bytes);
  std::optional<storage::wal::hard_state> wal_hard_state;
  if (hard_state) wal_hard_state = storage::wal::hard_state{hard_state->term, hard_state->vote, hard_state->commit};
  return wal_.append(views, wal_hard_state);
}

runtime::task<void> wal_log_storage::save_snapshot(raft::Index index, raft::Term term, std::string_view data) {
  co_await snapshots_.save(storage::wal::snapshot_id{term, index}, data);
  co_await wal_.append_snapshot_marker(storage::wal::snapshot_marker{index, term});
  co_await wal_.release(index);
}

runtime::task<storage::wal::snapshot_writer> wal_log_storage::begin_snapshot(raft::Index index, raft::Term term) {
  co_return co_await snapshots_.begin_save(storage::wal::snapshot_id{term, index});
}

runtime::task<storage::wal::snapshot_mapping> wal_log_storage::commit_snapshot(storage::wal::snapshot_writer& file) {
  const storage::wal::snapshot_id id = file.id();
  storage::wal::snapshot_mapping saved = co_await snapshots_.finish_save(file);
  co_await wal_.append_snapshot_marker(storage::wal::snapshot_marker{id.index, id.term});
  co_await wal_.release(id.index);
  co_return saved;
}

}  // namespace ringkv::server
