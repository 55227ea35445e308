// logagent/offset_store.cc - the offsets file: one line per file, "source dev inode fp_len fp offset"
// (source names are ringkv key suffixes and carry no spaces: config_watch refuses names that do).
#include "logagent/offset_store.h"

#include <fcntl.h>
#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace ringkv::logagent {

bool offset_store::load(std::string& error) {
  std::ifstream in(path_);
  if (!in) {
    if (errno == ENOENT) return true;
    error = path_ + ": " + std::strerror(errno);
    return false;
  }
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::istringstream fields(line);
    file_identity id;
    file_mark mark;
    if (!(fields >> id.source >> id.device >> id.inode >> mark.fingerprint_len >> mark.fingerprint >>
          mark.acked_offset)) {
      error = path_ + ":" + std::to_string(number) + ": not an offset line";
      return false;
    }
    entries_[id] = mark;
  }
  return true;
}

int offset_store::save() {
  if (!dirty_) return 0;
  std::string text;
  for (const auto& [id, mark] : entries_) {
    text += id.source + " " + std::to_string(id.device) + " " + std::to_string(id.inode) + " " +
            std::to_string(mark.fingerprint_len) + " " + std::to_string(mark.fingerprint) + " " +
            std::to_string(mark.acked_offset) + "\n";
  }
  const std::string temp = path_ + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -errno;
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      return -e;
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int e = errno;
    ::close(fd);
    return -e;
  }
  ::close(fd);
  if (::rename(temp.c_str(), path_.c_str()) != 0) return -errno;
  const auto slash = path_.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path_.substr(0, slash));
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  dirty_ = false;
  return 0;
}

std::optional<file_mark> offset_store::find(const file_identity& id) const {
  auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

void offset_store::set(const file_identity& id, const file_mark& mark) {
  if (entries_.size() >= entries_limit && entries_.count(id) == 0) entries_.erase(entries_.begin());
  entries_[id] = mark;
  dirty_ = true;
}

void offset_store::erase(const file_identity& id) { dirty_ |= entries_.erase(id) != 0; }

std::optional<uint64_t> fingerprint_of(int fd, uint32_t len) {
  std::vector<char> bytes(len);
  size_t have = 0;
  while (have < len) {
    const ssize_t n = ::pread(fd, bytes.data() + have, len - have, static_cast<off_t>(have));
    if (n <= 0) return std::nullopt;
    have += static_cast<size_t>(n);
  }
  return XXH3_64bits(bytes.data(), len);
}

}  // namespace ringkv::logagent
