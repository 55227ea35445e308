// runtime/log_output.h — the places a log line can go (--log-outputs): a descriptor (stderr, stdout, an
// appended file) or systemd-journald through its native protocol. runtime/log_writer.h calls them, from
// one thread at a time; a call may block (a slow disk, a full pipe, a busy journald): that is why the
// writer runs them on its own thread, never on a shard's.
//
// journald's native protocol (systemd's journal-send.c, "Native Journal Protocol" in systemd's docs):
// one datagram per entry to the AF_UNIX socket /run/systemd/journal/socket, fields as `KEY=value\n`, or
// `KEY\n<le64 length><value>\n` when the value holds a newline. An entry too large for one datagram
// goes in a sealed memfd whose descriptor is sent (SCM_RIGHTS) in an empty datagram.
// The fields are etcd 3.4's (pkg/logutil/zap_journal.go): MESSAGE is the JSON line, PRIORITY comes from
// its level, PACKAGE is the caller's directory, SYSLOG_IDENTIFIER the program's name.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "runtime/log.h"

namespace ringkv::log {

class log_output {
 public:
  virtual ~log_output() = default;
  // `line` is one formatted JSON line ending in '\n'. Returns false when the line could not be written
  // (the journal output then writes it to stderr, as etcd does).
  virtual bool write_line(log_level level, std::string_view caller_dir, std::string_view line) = 0;
};

// A descriptor: written with write(2) until the whole line is out (or an error). `owned` closes it.
class fd_log_output final : public log_output {
 public:
  fd_log_output(int fd, bool owned) : fd_(fd), owned_(owned) {}
  ~fd_log_output() override;
  fd_log_output(const fd_log_output&) = delete;
  fd_log_output& operator=(const fd_log_output&) = delete;
  bool write_line(log_level level, std::string_view caller_dir, std::string_view line) override;

 private:
  int fd_;
  bool owned_;
};

inline constexpr const char* journal_socket_path = "/run/systemd/journal/socket";

// syslog priorities as etcd maps zap levels: debug 7, info 6, warn 4, error 3, panic/fatal 2 (crit).
int journal_priority(log_level level);

// One entry in the native protocol's datagram format: MESSAGE (the line without its final newline),
// PRIORITY, PACKAGE, SYSLOG_IDENTIFIER.
std::string encode_journal_entry(log_level level, std::string_view caller_dir, std::string_view line,
                                 std::string_view identifier);

class journal_log_output final : public log_output {
 public:
  // Checks that `socket_path` accepts a connection, as etcd's DialJournal does: an error (journald is not
  // running, e.g. in a container) is returned as text and the output is not made. Entries are then sent
  // to the path each time (an unconnected socket, as sd_journal_send): a restarted journald gets them.
  static std::unique_ptr<journal_log_output> open(const std::string& socket_path, std::string identifier,
                                                  std::string& error);
  ~journal_log_output() override;
  journal_log_output(const journal_log_output&) = delete;
  journal_log_output& operator=(const journal_log_output&) = delete;
  bool write_line(log_level level, std::string_view caller_dir, std::string_view line) override;

 private:
  journal_log_output(int fd, std::string socket_path, std::string identifier)
      : fd_(fd), socket_path_(std::move(socket_path)), identifier_(std::move(identifier)) {}
  bool send(const std::string& entry);
  bool send_in_memfd(const std::string& entry);

  int fd_;
  std::string socket_path_;  // shorter than sockaddr_un::sun_path (checked by open)
  std::string identifier_;
};

}  // namespace ringkv::log
