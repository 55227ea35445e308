// Reading a data dir for recognition (names and first bytes only) and writing ringkv's marker file.
// Blocking calls: this runs once at start-up, before the WAL opens and anything is served.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "storage/wal/data_dir.h"
#include "storage/wal/dirs.h"
#include "storage/wal/errors.h"

namespace ringkv::storage::wal {
namespace {

std::string error_text(const std::string& what) { return what + ": " + std::strerror(errno); }

// The first file_head_bytes of a file (fewer if it is shorter); opened read-only, nothing else.
std::vector<std::byte> read_head(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) throw wal_error(error_text("open " + path));
  std::vector<std::byte> head(file_head_bytes);
  size_t got = 0;
  while (got < head.size()) {
    const ssize_t n = ::pread(fd, head.data() + got, head.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string error = error_text("read " + path);
      ::close(fd);
      throw wal_error(error);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  head.resize(got);
  return head;
}

// Adds the entries of `dir` (relative `prefix`, "" for the top) and returns whether it exists.
bool scan_folder(const std::string& data_dir, const std::string& prefix, std::vector<data_dir_entry>& out) {
  const std::string dir = prefix.empty() ? data_dir : join_path(data_dir, prefix);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return false;
    throw wal_error(error_text("stat " + dir));
  }
  if (!S_ISDIR(st.st_mode)) throw wal_error(dir + " exists and is not a directory");
  for (const std::string& name : list_dir(dir)) {
    const std::string path = join_path(dir, name);
    data_dir_entry entry;
    entry.path = prefix.empty() ? name : prefix + "/" + name;
    if (::lstat(path.c_str(), &st) != 0) throw wal_error(error_text("stat " + path));
    entry.is_dir = S_ISDIR(st.st_mode);
    // A symlinked member/wal or member/snap (a WAL on another disk) is followed like etcd does.
    if (S_ISLNK(st.st_mode) && ::stat(path.c_str(), &st) == 0) entry.is_dir = S_ISDIR(st.st_mode);
    // Heads only where recognition looks at them: nothing is opened outside ringkv's folders.
    const bool ours_to_read = !prefix.empty() || name == data_dir_marker_name;
    if (S_ISREG(st.st_mode) && ours_to_read) entry.head = read_head(path);
    out.push_back(std::move(entry));
  }
  return true;
}

void fsync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw wal_error(error_text("open directory " + dir));
  const int r = ::fsync(fd);
  const std::string error = r != 0 ? error_text("fsync directory " + dir) : "";
  ::close(fd);
  if (r != 0) throw wal_error(error);
}

}  // namespace

std::vector<data_dir_entry> scan_data_dir(const std::string& data_dir) {
  std::vector<data_dir_entry> entries;
  if (!scan_folder(data_dir, "", entries)) return entries;
  if (scan_folder(data_dir, "member", entries)) {
    scan_folder(data_dir, "member/wal", entries);
    scan_folder(data_dir, "member/snap", entries);
  }
  return entries;
}

void write_data_dir_marker(const std::string& data_dir) {
  const std::string path = join_path(data_dir, std::string(data_dir_marker_name));
  const std::string temp = path + ".tmp";  // ringkv's own name: a leftover from an interrupted write
  const std::string content = data_dir_marker_content(data_dir_format_version);
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw wal_error(error_text("create " + temp));
  const ssize_t written = ::write(fd, content.data(), content.size());
  const bool ok = written == static_cast<ssize_t>(content.size()) && ::fsync(fd) == 0;
  const std::string error = ok ? "" : error_text("write " + temp);
  ::close(fd);
  if (!ok) throw wal_error(error);
  // Never over an existing file: the caller found no marker, and whatever appeared since is not ours.
  int renamed = ::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE);
  if (renamed != 0 && errno == EINVAL) {  // a filesystem without RENAME_NOREPLACE: link() never replaces
    renamed = ::link(temp.c_str(), path.c_str());
    if (renamed == 0) ::unlink(temp.c_str());
  }
  if (renamed != 0) throw wal_error(error_text("rename " + temp + " to " + path));
  fsync_directory(data_dir);
}

}  // namespace ringkv::storage::wal
