// storage/wal/snapshot_mapping.h - a read-only memory mapping of one snapshot file, its payload as
// bytes. The member keeps its newest snapshot this way (for restarts and for followers that fall
// behind) instead of a second copy of the state in its own memory: the pages are the file's, read in
// when touched and dropped by the kernel under memory pressure. A snapshot file is never changed
// once renamed into place, and unlinking it (pruning) leaves the mapping valid until it is unmapped.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ringkv::storage::wal {

class snapshot_mapping {
 public:
  snapshot_mapping() = default;
  // Maps the whole file open at `fd` (the caller closes fd; the mapping stays). Throws wal_error.
  static snapshot_mapping map_file(int fd, const std::string& path);

  snapshot_mapping(snapshot_mapping&& other) noexcept;
  snapshot_mapping& operator=(snapshot_mapping&& other) noexcept;
  snapshot_mapping(const snapshot_mapping&) = delete;
  snapshot_mapping& operator=(const snapshot_mapping&) = delete;
  ~snapshot_mapping();

  std::string_view file() const { return {static_cast<const char*>(base_), length_}; }
  std::string_view payload() const;  // the file after its header (empty if the file is shorter)

 private:
  void* base_ = nullptr;
  size_t length_ = 0;
};

}  // namespace ringkv::storage::wal
