// logagent/file_sink.cc - append, fdatasync, acknowledge.
#include "logagent/file_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runtime/json_text.h"
#include "runtime/log.h"

namespace ringkv::logagent {

file_sink::~file_sink() {
  if (fd_ >= 0) ::close(fd_);
}

bool file_sink::open(std::string& error) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) error = path_ + ": " + std::strerror(errno);
  return fd_ >= 0;
}

void file_sink::poll() {
  if (waiting_.empty()) return;
  std::string text;
  for (const record& r : waiting_) {
    text += "{\"topic\":";
    runtime::append_json_string(text, r.topic);
    text += ",\"key\":";
    runtime::append_json_string(text, r.key);
    text += ",\"value\":" + r.payload + "}\n";
  }
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd_, text.data() + written, text.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      // A partial write leaves a torn line; the records are retried next poll (at-least-once).
      counters_.lines_failed += waiting_.size();
      log::warn("logagent: file sink write failed", {{"path", path_}, {"error", std::strerror(errno)}});
      return;
    }
    written += static_cast<size_t>(n);
  }
  if (::fdatasync(fd_) != 0) {
    counters_.lines_failed += waiting_.size();
    return;
  }
  for (record& r : waiting_) {
    r.progress->acked(r.end_offset);
    budget_.give_back(r.payload.size());
    ++counters_.lines_sent;
  }
  waiting_.clear();
}

}  // namespace ringkv::logagent
