// storage/wal/snapshot_writer.cc - see snapshot_writer.h.
#include "storage/wal/snapshot_writer.h"

#include <unistd.h>
#include <xxhash.h>

#include <new>
#include <utility>

#include "runtime/io.h"
#include "storage/wal/dirs.h"
#include "storage/wal/errors.h"

namespace ringkv::storage::wal {

struct snapshot_writer::hash_state {
  hash_state() : state(XXH3_createState()) {
    if (state == nullptr || XXH3_64bits_reset(state) != XXH_OK) throw std::bad_alloc();
  }
  ~hash_state() { XXH3_freeState(state); }
  XXH3_state_t* state;
};

snapshot_writer::snapshot_writer(snapshot_id id, int fd, std::string temp_path, std::string path)
    : id_(id), fd_(fd), temp_path_(std::move(temp_path)), path_(std::move(path)), hash_(std::make_unique<hash_state>()) {}

snapshot_writer::snapshot_writer(snapshot_writer&& other) noexcept
    : id_(other.id_),
      fd_(std::exchange(other.fd_, -1)),
      temp_path_(std::move(other.temp_path_)),
      path_(std::move(other.path_)),
      written_(other.written_),
      hash_(std::move(other.hash_)) {}

snapshot_writer::~snapshot_writer() {
  if (fd_ < 0) return;
  ::close(fd_);  // not finished: the partial file is ringkv's own temp file, removed
  ::unlink(temp_path_.c_str());
}

uint64_t snapshot_writer::payload_checksum() const { return XXH3_64bits_digest(hash_->state); }

runtime::task<void> snapshot_writer::append(std::string_view bytes) {
  if (fd_ < 0) throw wal_error("snapshot " + path_ + ": append after the file was finished");
  XXH3_64bits_update(hash_->state, bytes.data(), bytes.size());
  co_await write_fully(fd_, bytes.data(), bytes.size(), snapshot_header_bytes + written_, temp_path_);
  written_ += bytes.size();
  check_io(co_await runtime::io::fdatasync(fd_), "fdatasync " + temp_path_);
}

}  // namespace ringkv::storage::wal
