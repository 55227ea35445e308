// Directory and file helpers over the runtime's I/O operations.
#include "storage/wal/dirs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "runtime/io.h"
#include "storage/wal/errors.h"

namespace ringkv::storage::wal {

void check_io(int result, const std::string& what) {
  if (result < 0) throw io_error(what + ": " + std::strerror(-result), -result);
}

bool io_error::shortage() const {
  switch (error_number_) {
    case EMFILE:
    case ENFILE:
    case ENOMEM:
    case ENOSPC:
    case EDQUOT: return true;
    default: return false;
  }
}

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty() || dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

runtime::task<int> open_dir(const std::string& path) {
  const int fd = co_await runtime::io::openat(AT_FDCWD, path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  check_io(fd, "open directory " + path);
  co_return fd;
}

runtime::task<void> fsync_dir(int dir_fd, const std::string& what) {
  check_io(co_await runtime::io::fsync(dir_fd), "fsync directory " + what);
}

runtime::task<void> make_dirs(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  const auto slash = path.find_last_of('/');
  const std::string parent = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  int r = co_await runtime::io::mkdir(path.c_str(), 0700);
  if (r == -ENOENT && parent != path) {
    co_await make_dirs(parent);
    r = co_await runtime::io::mkdir(path.c_str(), 0700);
  }
  if (r == -EEXIST) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) throw wal_error(path + " exists and is not a directory");
    co_return;
  }
  check_io(r, "create directory " + path);
  const int parent_fd = co_await open_dir(parent);
  const int synced = co_await runtime::io::fsync(parent_fd);
  co_await runtime::io::close(parent_fd);
  check_io(synced, "fsync directory " + parent);
}

std::vector<std::string> list_dir(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) throw wal_error("list directory " + path + ": " + std::strerror(errno));
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(dir)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(dir);
  return names;
}

uint64_t file_size(int fd, const std::string& what) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw wal_error("stat " + what + ": " + std::strerror(errno));
  return static_cast<uint64_t>(st.st_size);
}

runtime::task<uint64_t> read_fully(int fd, void* buf, uint64_t len, uint64_t offset, const std::string& what) {
  constexpr uint64_t chunk_bytes_max = 1u << 30;  // the runtime refuses lengths >= 4 GiB
  uint64_t done = 0;
  while (done < len) {
    const uint64_t want = std::min(len - done, chunk_bytes_max);
    const int r = co_await runtime::io::read_at(fd, static_cast<std::byte*>(buf) + done, want, offset + done);
    check_io(r, "read " + what);
    done += static_cast<uint64_t>(r);
    if (static_cast<uint64_t>(r) < want) break;  // regular files read short only at end of file
  }
  co_return done;
}

runtime::task<void> write_fully(int fd, const void* buf, uint64_t len, uint64_t offset, const std::string& what) {
  constexpr uint64_t chunk_bytes_max = 1u << 30;
  uint64_t done = 0;
  while (done < len) {
    const uint64_t want = std::min(len - done, chunk_bytes_max);
    const int r = co_await runtime::io::write_at(fd, static_cast<const std::byte*>(buf) + done, want, offset + done);
    check_io(r, "write " + what);
    if (r == 0) throw wal_error("write " + what + ": no progress");
    done += static_cast<uint64_t>(r);
  }
}

}  // namespace ringkv::storage::wal
