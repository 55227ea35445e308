// Errors the WAL and snapshot store report. Corruption names the file and byte offset; a stopped log
// (write or fsync failure) never acknowledges anything again.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace ringkv::storage::wal {

// Any WAL failure: I/O errors, a stopped log, bad arguments.
class wal_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A system call failed: the errno is kept, so that callers can tell a shortage that passes (descriptors,
// memory, space) from a failing disk.
class io_error : public wal_error {
 public:
  io_error(const std::string& what, int error_number) : wal_error(what), error_number_(error_number) {}
  int error_number() const { return error_number_; }
  // EMFILE, ENFILE, ENOMEM, ENOSPC, EDQUOT: the process or machine ran short of something that comes back.
  bool shortage() const;

 private:
  int error_number_;
};

// Bad data before the last valid record (or in a sealed segment): the node must not start.
class corruption_error : public wal_error {
 public:
  corruption_error(std::string file, uint64_t offset, const std::string& why)
      : wal_error("WAL corruption in " + file + " at offset " + std::to_string(offset) + ": " + why),
        file_(std::move(file)), offset_(offset) {}
  const std::string& file() const { return file_; }
  uint64_t offset() const { return offset_; }

 private:
  std::string file_;
  uint64_t offset_;
};

}  // namespace ringkv::storage::wal
