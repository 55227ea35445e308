// storage/wal/snapshot_writer.h - one snapshot file being written as the state is serialized, so the
// member never holds the whole serialized state in memory. Made by snapshot_store::begin_save and
// completed by snapshot_store::finish_save (header, fsync, rename into place, directory fsync).
// Each append() is written, hashed and fdatasync'd before it returns: the disk never holds a long
// queue of snapshot data that the WAL's own writes and flushes would wait behind, and no loop turn
// hashes more than one append's bytes. A writer destroyed before finish_save removes its temp file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "runtime/task.h"
#include "storage/wal/snapshot_format.h"

namespace ringkv::storage::wal {

// What a writer of the payload appends at once (each append is fdatasync'd before the next).
inline constexpr size_t snapshot_append_bytes = 2 << 20;

class snapshot_writer {
 public:
  snapshot_writer(snapshot_writer&& other) noexcept;
  snapshot_writer& operator=(snapshot_writer&&) = delete;
  snapshot_writer(const snapshot_writer&) = delete;
  ~snapshot_writer();

  // The next bytes of the payload, in order. Throws wal_error.
  runtime::task<void> append(std::string_view bytes);
  uint64_t payload_bytes() const { return written_; }
  snapshot_id id() const { return id_; }

 private:
  friend class snapshot_store;
  struct hash_state;  // XXH3's streaming state
  snapshot_writer(snapshot_id id, int fd, std::string temp_path, std::string path);
  uint64_t payload_checksum() const;  // of every byte appended so far

  snapshot_id id_;
  int fd_ = -1;            // -1 once finished (or moved from)
  std::string temp_path_;  // "<name>.tmp", renamed to path_ by finish_save
  std::string path_;
  uint64_t written_ = 0;
  std::unique_ptr<hash_state> hash_;
};

}  // namespace ringkv::storage::wal
