// logagent/file_tailer.h - follows one file path: reads new bytes, splits them into lines, merges
// multi-line records, and hands records to the source's emitter (which may say "not now": then the
// tailer stops reading and resumes at the same byte on the next poll - backpressure).
//
// Each poll (source_runner calls it every poll period; no inotify):
// - reads from the last consumed line end while the emitter accepts;
// - at the end of the file: if the path now names another file (rotation by rename) the old one was
//   read to its end first, its unterminated last line is sent, and the new file is opened from 0;
//   if the file got shorter than what was read (copytruncate), reading restarts at 0;
// - a line longer than max_line_bytes is cut to that size (counted) and the rest of it skipped.
// Start position: the offset_store's acknowledged offset when (device, inode, fingerprint) match,
// otherwise the start of the file.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "logagent/delivery.h"
#include "logagent/source_spec.h"

namespace ringkv::logagent {

class record_emitter {
 public:
  virtual ~record_emitter() = default;
  virtual bool can_emit() const = 0;
  // One record: `text` ends at `end_offset` of the file (the byte after its newline).
  virtual void emit(const std::string& path, uint64_t start_offset, std::string_view text,
                    const std::shared_ptr<file_progress>& progress, uint64_t end_offset) = 0;
};

class file_tailer {
 public:
  static constexpr std::chrono::milliseconds multiline_timeout{1000};  // a pending record is sent then

  file_tailer(std::string path, const source_spec& spec, offset_store& store, agent_counters& counters);
  ~file_tailer();
  file_tailer(const file_tailer&) = delete;
  file_tailer& operator=(const file_tailer&) = delete;

  // Reads what is there (see above). Returns false once the path is gone and the file read to its end
  // (a path that exists but cannot be opened keeps the tailer, with error() set).
  bool poll(record_emitter& out);

  const std::string& path() const { return path_; }
  uint64_t read_offset() const { return read_offset_; }
  uint64_t acked_offset() const { return progress_ ? progress_->mark().acked_offset : 0; }
  uint64_t size() const { return size_; }
  const std::string& error() const { return error_; }

 private:
  bool open_path();
  void close_file();
  // Consumes complete lines of buf[0, len) (read at read_offset_); false when the emitter said stop.
  bool consume(const char* buf, size_t len, bool at_eof);
  bool line(std::string_view text, uint64_t start, uint64_t end);
  bool flush_pending(record_emitter& out);
  void update_fingerprint();

  std::string path_;
  const source_spec& spec_;
  offset_store& store_;
  agent_counters& counters_;
  std::optional<std::regex> multiline_start_;
  int fd_ = -1;
  uint64_t device_ = 0;
  uint64_t inode_ = 0;
  uint64_t size_ = 0;
  uint64_t read_offset_ = 0;  // everything before it became records (or was skipped)
  bool skipping_ = false;     // inside the rest of a cut overlong line
  std::shared_ptr<file_progress> progress_;
  std::vector<char> buffer_;
  record_emitter* out_ = nullptr;  // during poll()
  // Multi-line: the record being assembled.
  std::string pending_;
  uint64_t pending_start_ = 0;
  uint64_t pending_end_ = 0;
  bool has_pending_ = false;
  std::chrono::steady_clock::time_point pending_since_;
  std::string error_;
};

}  // namespace ringkv::logagent
