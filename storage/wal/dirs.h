// Directory and whole-file helpers shared by the WAL and the snapshot store: 0700 directory creation,
// directory fsync (after every create, rename and remove), listing, and reading a file through the runtime.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/task.h"

namespace ringkv::storage::wal {

// Creates `path` (and missing parents) with mode 0700, fsyncing each parent whose entry it added.
// Throws wal_error on failure (an existing directory is fine).
runtime::task<void> make_dirs(std::string path);

// Opens a directory for fsync (O_RDONLY | O_DIRECTORY). Throws wal_error.
runtime::task<int> open_dir(const std::string& path);

// fsyncs a directory fd; throws wal_error naming `what` on failure.
runtime::task<void> fsync_dir(int dir_fd, const std::string& what);

// Names of the entries in `path` (no "." or ".."). Throws wal_error. Blocking readdir: used only at open.
std::vector<std::string> list_dir(const std::string& path);

// Size of an open file (fstat). Throws wal_error.
uint64_t file_size(int fd, const std::string& what);

// Reads exactly `len` bytes at `offset` (looping over short reads; fewer only at end of file).
// Returns the bytes read; throws wal_error on an I/O error.
runtime::task<uint64_t> read_fully(int fd, void* buf, uint64_t len, uint64_t offset, const std::string& what);

// Writes exactly `len` bytes at `offset`; throws wal_error on any error or short write.
runtime::task<void> write_fully(int fd, const void* buf, uint64_t len, uint64_t offset, const std::string& what);

// Throws wal_error("<what>: <strerror>") for a negative runtime result.
void check_io(int result, const std::string& what);

std::string join_path(const std::string& dir, const std::string& name);

}  // namespace ringkv::storage::wal
