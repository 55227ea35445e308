// O_DIRECT benchmark file set-up: see disk_append_file.h.
#include "bench/runtime/disk_append_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cassert>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace ringkv::bench {

void disk_append_file::free_deleter::operator()(void* p) const { std::free(p); }

disk_append_file::disk_append_file(size_t block_bytes) : block_bytes_(block_bytes) {
  assert(block_bytes % direct_io_alignment == 0);
  const char* dir = std::getenv("RINGKV_BENCH_DIR");
  std::string pattern = std::string(dir && *dir ? dir : "/tmp") + "/ringkv-bench-append-XXXXXX";
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  int tmp_fd = ::mkstemp(name.data());
  assert(tmp_fd >= 0);
  ::close(tmp_fd);
  path_ = name.data();
  fd_ = ::open(path_.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC);
  assert(fd_ >= 0 && "O_DIRECT open failed: set RINGKV_BENCH_DIR to a file system that supports it");
  block_.reset(std::aligned_alloc(direct_io_alignment, block_bytes));
  std::memset(block_.get(), 0x5a, block_bytes);
}

disk_append_file::~disk_append_file() {
  ::close(fd_);
  ::unlink(path_.c_str());
}

uint64_t disk_append_file::next_offset() {
  if (offset_ + block_bytes_ > file_bytes_max) offset_ = 0;
  uint64_t at = offset_;
  offset_ += block_bytes_;
  return at;
}

}  // namespace ringkv::bench
