// logagent/offset_store.h - how far each file's lines were acknowledged by the sink, across restarts.
//
// An entry is keyed by (source name, device, inode) and carries a fingerprint (xxh3 of the file's first
// fingerprint_len bytes) so a recycled inode with other content is not mistaken for the old file. The
// offset only ever moves to the end of a line the sink acknowledged (at-least-once: after a crash lines
// may be sent again, never skipped). save() writes the whole store durably: temp file, fsync, rename,
// fsync of the directory. Synchronous system calls: it runs at most once a second and at shutdown
// (when the runtime refuses new I/O).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace ringkv::logagent {

struct file_identity {
  std::string source;
  uint64_t device = 0;
  uint64_t inode = 0;
  auto operator<=>(const file_identity&) const = default;
};

struct file_mark {
  uint32_t fingerprint_len = 0;  // bytes hashed; grows to fingerprint_bytes as the file does
  uint64_t fingerprint = 0;
  uint64_t acked_offset = 0;
};

class offset_store {
 public:
  static constexpr uint32_t fingerprint_bytes = 64;
  static constexpr size_t entries_limit = 100000;  // files remembered (oldest-updated dropped beyond)

  explicit offset_store(std::string path) : path_(std::move(path)) {}

  // Reads the store; a missing file is an empty store. False (and `error`) when it is unreadable.
  bool load(std::string& error);
  // Durable write of every entry when something changed since the last save; 0 or -errno.
  int save();

  std::optional<file_mark> find(const file_identity& id) const;
  void set(const file_identity& id, const file_mark& mark);
  void erase(const file_identity& id);
  size_t size() const { return entries_.size(); }

 private:
  std::string path_;
  std::map<file_identity, file_mark> entries_;
  bool dirty_ = false;
};

// The fingerprint of fd's first `len` bytes (pread); nullopt when fewer bytes could be read.
std::optional<uint64_t> fingerprint_of(int fd, uint32_t len);

}  // namespace ringkv::logagent
