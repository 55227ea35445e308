// server/replica/wal_log_storage.h — the raft driver's log_storage on ringkv's WAL and snapshot files:
// raft entries and hard states become WAL records (one group commit), a snapshot becomes a snapshot
// file, then the WAL's marker, then the release of the WAL segments it covers — in that order, so a
// crash between two steps leaves either the old state or the new one, never a gap.
#pragma once

#include "server/replica/raft_driver.h"
#include "storage/wal/snapshot_store.h"
#include "storage/wal/wal.h"

namespace ringkv::server {

class wal_log_storage final : public log_storage {
 public:
  // Both outlive this object.
  wal_log_storage(storage::wal::write_ahead_log& wal, storage::wal::snapshot_store& snapshots)
      : wal_(wal), snapshots_(snapshots) {}

  runtime::task<void> append(const std::optional<raft::HardState>& hard_state,
                             std::span<const raft::Entry> entries) override;
  runtime::task<void> save_snapshot(raft::Index index, raft::Term term, std::string_view data) override;
  runtime::task<storage::wal::snapshot_writer> begin_snapshot(raft::Index index, raft::Term term) override;
  runtime::task<storage::wal::snapshot_mapping> commit_snapshot(storage::wal::snapshot_writer& file) override;

 private:
  storage::wal::write_ahead_log& wal_;
  storage::wal::snapshot_store& snapshots_;
};

}  // namespace ringkv::server
