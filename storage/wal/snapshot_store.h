// Snapshot files of one raft group in <data-dir>/member/snap: written to a temp file, fsynced, renamed
// into place, directory fsynced; loaded newest first, with a damaged file moved aside as ".broken"
// (never deleted) and the previous snapshot used instead. Format: storage/wal/snapshot_format.h.
// Only ringkv's own files are removed or renamed (storage/wal/data_dir.h): temp files with a snapshot's
// name, and snapshots that start with the RKVSNAP1 magic; a file with another header is left alone.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/task.h"
#include "storage/wal/snapshot_format.h"
#include "storage/wal/snapshot_mapping.h"
#include "storage/wal/snapshot_writer.h"

namespace ringkv::storage::wal {

struct snapshot_config {
  std::string dir;          // <data-dir>/member/snap
  unsigned files_kept = 3;  // valid snapshots kept after a save (>= 2 so a damaged newest has a fallback)
};

struct loaded_snapshot {
  snapshot_id id;
  std::shared_ptr<const snapshot_mapping> file;  // shared: raft keeps the bytes as long as it needs them
  std::string_view data() const { return file->payload(); }
};

class snapshot_store {
 public:
  // Creates the directory (0700) if needed and removes temp files of interrupted saves.
  static runtime::task<snapshot_store> open(snapshot_config config);

  snapshot_store(snapshot_store&& other) noexcept;
  snapshot_store& operator=(snapshot_store&&) = delete;
  snapshot_store(const snapshot_store&) = delete;
  ~snapshot_store();

  // A snapshot written as it is made: begin_save creates the temp file, the writer appends the
  // payload, finish_save writes the header, fsyncs, renames the file into place, fsyncs the directory,
  // deletes all but the newest files_kept snapshots and returns the saved file mapped. Throw
  // wal_error; a failed save leaves the previous snapshots intact (and no temp file behind).
  runtime::task<snapshot_writer> begin_save(snapshot_id id);
  runtime::task<snapshot_mapping> finish_save(snapshot_writer& writer);

  // The whole snapshot at once, the same way.
  runtime::task<void> save(snapshot_id id, std::string_view data);

  // The newest snapshot that verifies, mapped; damaged ones are renamed to "<name>.broken". nullopt if
  // none.
  runtime::task<std::optional<loaded_snapshot>> load_newest();

  // Snapshot ids on disk by name, newest (highest index, then term) first.
  std::vector<snapshot_id> list() const;

  runtime::task<void> close();

 private:
  explicit snapshot_store(snapshot_config config) : config_(std::move(config)) {}
  runtime::task<void> prune();
  static runtime::task<std::optional<bool>> starts_with_magic(const std::string& path);

  snapshot_config config_;
  int dir_fd_ = -1;
};

}  // namespace ringkv::storage::wal
