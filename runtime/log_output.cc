// runtime/log_output.cc — descriptor and journald outputs of runtime/log_output.h.
#include "runtime/log_output.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cassert>
#include <cctype>
#include <cerrno>
#include <cstring>

namespace ringkv::log {
namespace {

// systemd's journal-send.c asks for this send buffer, so that most entries fit one datagram.
constexpr int journal_send_buffer_bytes = 8 * 1024 * 1024;

void append_field(std::string& out, std::string_view key, std::string_view value) {
  if (value.find('\n') == std::string_view::npos) {
    out += key;
    out += '=';
    out += value;
    out += '\n';
    return;
  }
  out += key;
  out += '\n';
  uint64_t length = value.size();
  for (int i = 0; i < 8; ++i) out += char((length >> (8 * i)) & 0xff);  // little-endian 64-bit
  out += value;
  out += '\n';
}

bool make_address(const std::string& path, sockaddr_un& address, socklen_t& length) {
  address = {};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof address.sun_path) return false;
  std::memcpy(address.sun_path, path.data(), path.size());
  length = socklen_t(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  return true;
}

}  // namespace

fd_log_output::~fd_log_output() {
  if (owned_) ::close(fd_);
}

bool fd_log_output::write_line(log_level, std::string_view, std::string_view line) {
  size_t written = 0;
  while (written < line.size()) {  // one write(2) in practice; loop only for partial writes
    ssize_t n = ::write(fd_, line.data() + written, line.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    written += size_t(n);
  }
  return true;
}

int journal_priority(log_level level) {
  switch (level) {
    case log_level::debug: return 7;  // LOG_DEBUG
    case log_level::info: return 6;   // LOG_INFO
    case log_level::warn: return 4;   // LOG_WARNING
    case log_level::error: return 3;  // LOG_ERR
    case log_level::panic:
    case log_level::fatal: return 2;  // LOG_CRIT
  }
  return 6;
}

std::string encode_journal_entry(log_level level, std::string_view caller_dir, std::string_view line,
                                 std::string_view identifier) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  std::string entry;
  entry.reserve(line.size() + caller_dir.size() + identifier.size() + 64);
  append_field(entry, "MESSAGE", line);
  append_field(entry, "PRIORITY", std::to_string(journal_priority(level)));
  if (!caller_dir.empty()) append_field(entry, "PACKAGE", caller_dir);
  append_field(entry, "SYSLOG_IDENTIFIER", identifier);
  return entry;
}

std::unique_ptr<journal_log_output> journal_log_output::open(const std::string& socket_path, std::string identifier,
                                                             std::string& error) {
  sockaddr_un address;
  socklen_t length;
  if (!make_address(socket_path, address, length)) {
    error = "journal socket path '" + socket_path + "' does not fit a unix socket address";
    return nullptr;
  }
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return nullptr;
  }
  int probe = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);  // etcd's DialJournal: can it be dialled?
  const bool reachable = probe >= 0 && ::connect(probe, reinterpret_cast<sockaddr*>(&address), length) == 0;
  const int dial_errno = errno;
  if (probe >= 0) ::close(probe);
  if (!reachable) {
    std::string reason = std::strerror(dial_errno);  // Go spells errno texts in lower case, as etcd prints them
    if (!reason.empty()) reason[0] = char(std::tolower(static_cast<unsigned char>(reason[0])));
    error = "dial unixgram " + socket_path + ": connect: " + reason;
    ::close(fd);
    return nullptr;
  }
  // Larger entries fit one datagram; root may exceed wmem_max (as journal-send.c does), others get wmem_max.
  if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &journal_send_buffer_bytes, sizeof(int)) != 0)
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &journal_send_buffer_bytes, sizeof(int));
  return std::unique_ptr<journal_log_output>(new journal_log_output(fd, socket_path, std::move(identifier)));
}

journal_log_output::~journal_log_output() { ::close(fd_); }

// etcd's journalWriter: a line journald does not take goes to stderr instead.
bool journal_log_output::write_line(log_level level, std::string_view caller_dir, std::string_view line) {
  if (send(encode_journal_entry(level, caller_dir, line, identifier_))) return true;
  fd_log_output(2, false).write_line(level, caller_dir, line);
  return false;
}

bool journal_log_output::send(const std::string& entry) {
  sockaddr_un address;
  socklen_t length = 0;
  [[maybe_unused]] const bool fits = make_address(socket_path_, address, length);
  assert(fits);  // checked by open()
  ssize_t n;
  do n = ::sendto(fd_, entry.data(), entry.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&address), length);
  while (n < 0 && errno == EINTR);
  if (n >= 0) return true;
  if (errno == EMSGSIZE || errno == ENOBUFS) return send_in_memfd(entry);
  return false;
}

// journal-send.c's fallback for an entry larger than a datagram: the entry in a sealed memfd, whose
// descriptor travels alone (journald refuses an unsealed one).
bool journal_log_output::send_in_memfd(const std::string& entry) {
  int memfd = ::memfd_create("ringkv-journal", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (memfd < 0) return false;
  size_t written = 0;
  while (written < entry.size()) {
    ssize_t n = ::write(memfd, entry.data() + written, entry.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(memfd);
      return false;
    }
    written += size_t(n);
  }
  if (::fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    ::close(memfd);
    return false;
  }
  sockaddr_un address;
  socklen_t length = 0;
  [[maybe_unused]] const bool fits = make_address(socket_path_, address, length);
  assert(fits);  // checked by open()
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  message.msg_name = &address;
  message.msg_namelen = length;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(header), &memfd, sizeof(int));
  ssize_t n;
  do n = ::sendmsg(fd_, &message, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  ::close(memfd);
  return n >= 0;
}

}  // namespace ringkv::log
