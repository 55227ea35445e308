// logagent/file_tailer.cc - one followed file: open with the saved offset, read and split lines,
// rename/copytruncate detection at end of file, overlong lines, multi-line records. Reads are
// synchronous pread()s of at most one buffer per step on the agent's thread (log files are read right
// after they were written, from the page cache).
#include "logagent/file_tailer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace ringkv::logagent {

namespace {
constexpr size_t read_chunk_bytes = 64 * 1024;
}

file_tailer::file_tailer(std::string path, const source_spec& spec, offset_store& store, agent_counters& counters)
    : path_(std::move(path)), spec_(spec), store_(store), counters_(counters),
      buffer_(std::max<size_t>(read_chunk_bytes, spec.max_line_bytes + 1)) {
  if (!spec.multiline_start.empty()) multiline_start_.emplace(spec.multiline_start);  // validated already
}

file_tailer::~file_tailer() {
  if (progress_) progress_->detach();
  close_file();
}

void file_tailer::close_file() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool file_tailer::open_path() {
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error_ = errno == ENOENT ? std::string() : path_ + ": " + std::strerror(errno);
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    error_ = path_ + ": not a regular file";
    ::close(fd);
    return false;
  }
  fd_ = fd;
  device_ = st.st_dev;
  inode_ = st.st_ino;
  size_ = static_cast<uint64_t>(st.st_size);
  const file_identity id{spec_.name, device_, inode_};
  file_mark start;
  if (auto saved = store_.find(id); saved && saved->acked_offset <= size_) {
    const bool same_file = saved->fingerprint_len == 0 || fingerprint_of(fd_, saved->fingerprint_len) == saved->fingerprint;
    if (same_file) start = *saved;
  }
  if (progress_) progress_->detach();
  progress_ = std::make_shared<file_progress>(store_, id, start);
  read_offset_ = start.acked_offset;
  skipping_ = false;
  error_.clear();
  update_fingerprint();
  return true;
}

void file_tailer::update_fingerprint() {
  const uint32_t len = static_cast<uint32_t>(std::min<uint64_t>(size_, offset_store::fingerprint_bytes));
  if (len <= progress_->mark().fingerprint_len) return;
  if (auto fp = fingerprint_of(fd_, len)) progress_->set_fingerprint(len, *fp);
}

bool file_tailer::poll(record_emitter& out) {
  out_ = &out;
  // Not there: done. There but unreadable (permissions...): kept, shown in the status, tried again.
  if (fd_ < 0 && !open_path()) return !error_.empty();
  if (struct stat st {}; ::fstat(fd_, &st) == 0) size_ = static_cast<uint64_t>(st.st_size);  // for the lag
  if (has_pending_ && std::chrono::steady_clock::now() - pending_since_ >= multiline_timeout && out.can_emit()) {
    flush_pending(out);
  }
  while (out.can_emit()) {
    const ssize_t n = ::pread(fd_, buffer_.data(), buffer_.size(), static_cast<off_t>(read_offset_));
    if (n < 0) {
      error_ = path_ + ": " + std::strerror(errno);
      return true;
    }
    if (n == 0) break;
    if (!consume(buffer_.data(), static_cast<size_t>(n), false)) break;
  }
  if (!out.can_emit()) return true;
  // Read to the end (as far as complete lines go): rotated or truncated?
  struct stat now {};
  const bool path_exists = ::stat(path_.c_str(), &now) == 0;
  if (!path_exists || static_cast<uint64_t>(now.st_ino) != inode_ || static_cast<uint64_t>(now.st_dev) != device_) {
    // Renamed away (or deleted): the old file is final. Its unterminated last line is a record.
    const ssize_t n = ::pread(fd_, buffer_.data(), buffer_.size(), static_cast<off_t>(read_offset_));
    if (n > 0) {
      consume(buffer_.data(), static_cast<size_t>(n), true);
      if (!out.can_emit()) return true;
    }
    if (has_pending_) flush_pending(out);
    close_file();
    if (!path_exists) return false;
    open_path();  // the new file at the path (from its saved offset, or 0)
    return true;
  }
  struct stat st {};
  if (::fstat(fd_, &st) == 0) {
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    if (size < read_offset_) {  // copytruncate: the same inode starts again
      if (has_pending_) flush_pending(out);
      progress_->detach();
      progress_ = std::make_shared<file_progress>(store_, file_identity{spec_.name, device_, inode_}, file_mark{});
      store_.set(file_identity{spec_.name, device_, inode_}, file_mark{});
      read_offset_ = 0;
      skipping_ = false;
    }
    size_ = size;
    update_fingerprint();
  }
  return true;
}

bool file_tailer::consume(const char* buf, size_t len, bool at_eof) {
  const size_t max_line = spec_.max_line_bytes;
  size_t pos = 0;
  while (pos < len && out_->can_emit()) {
    const char* start = buf + pos;
    const char* newline = static_cast<const char*>(std::memchr(start, '\n', len - pos));
    const size_t line_len = newline != nullptr ? static_cast<size_t>(newline - start) : len - pos;
    const size_t step = newline != nullptr ? line_len + 1 : line_len;
    if (skipping_) {  // the rest of a cut line
      read_offset_ += step;
      pos += step;
      skipping_ = newline == nullptr;
      continue;
    }
    if (newline == nullptr && !at_eof && line_len <= max_line) break;  // wait for the rest of the line
    const uint64_t line_start = read_offset_;
    if (line_len > max_line) {
      ++counters_.lines_truncated;
      if (!line(std::string_view(start, max_line), line_start, line_start + step)) break;
      skipping_ = newline == nullptr && !at_eof;
    } else if (!line(std::string_view(start, line_len), line_start, line_start + step)) {
      break;
    }
    read_offset_ += step;
    pos += step;
  }
  return pos > 0;
}

bool file_tailer::line(std::string_view text, uint64_t start, uint64_t end) {
  if (!multiline_start_) {
    progress_->sent(end);
    ++counters_.lines_read;
    out_->emit(path_, start, text, progress_, end);
    return true;
  }
  const bool starts_record = std::regex_search(text.begin(), text.end(), *multiline_start_);
  if (has_pending_ && starts_record) flush_pending(*out_);
  if (!has_pending_) {
    pending_.assign(text);
    pending_start_ = start;
    has_pending_ = true;
  } else if (pending_.size() + 1 + text.size() <= spec_.max_line_bytes) {
    pending_ += '\n';
    pending_ += text;
  } else {
    ++counters_.lines_truncated;
  }
  pending_end_ = end;
  pending_since_ = std::chrono::steady_clock::now();
  return true;
}

bool file_tailer::flush_pending(record_emitter& out) {
  if (!has_pending_) return true;
  progress_->sent(pending_end_);
  ++counters_.lines_read;
  out.emit(path_, pending_start_, pending_, progress_, pending_end_);
  has_pending_ = false;
  pending_.clear();
  return true;
}

}  // namespace ringkv::logagent
