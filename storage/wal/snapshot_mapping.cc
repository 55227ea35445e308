// storage/wal/snapshot_mapping.cc - see snapshot_mapping.h.
#include "storage/wal/snapshot_mapping.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "storage/wal/dirs.h"
#include "storage/wal/errors.h"
#include "storage/wal/snapshot_format.h"

namespace ringkv::storage::wal {

snapshot_mapping snapshot_mapping::map_file(int fd, const std::string& path) {
  snapshot_mapping mapping;
  mapping.length_ = file_size(fd, path);
  if (mapping.length_ == 0) return mapping;  // nothing to map; payload() is empty
  void* base = ::mmap(nullptr, mapping.length_, PROT_READ, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) throw wal_error("map " + path + ": " + std::strerror(errno));
  mapping.base_ = base;
  return mapping;
}

snapshot_mapping::snapshot_mapping(snapshot_mapping&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)), length_(std::exchange(other.length_, 0)) {}

snapshot_mapping& snapshot_mapping::operator=(snapshot_mapping&& other) noexcept {
  if (this != &other) {
    snapshot_mapping gone(std::move(*this));
    base_ = std::exchange(other.base_, nullptr);
    length_ = std::exchange(other.length_, 0);
  }
  return *this;
}

snapshot_mapping::~snapshot_mapping() {
  if (base_ != nullptr) ::munmap(base_, length_);
}

std::string_view snapshot_mapping::payload() const {
  return length_ <= snapshot_header_bytes ? std::string_view() : file().substr(snapshot_header_bytes);
}

}  // namespace ringkv::storage::wal
