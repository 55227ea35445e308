// server/process/systemd_notify.cc — see systemd_notify.h. The protocol as sd_notify(3) documents it:
// a datagram to $NOTIFY_SOCKET, whose leading '@' stands for the abstract namespace's NUL byte.
#include "server/process/systemd_notify.h"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstring>

#include "runtime/log.h"

namespace ringkv::server {
namespace {

std::optional<uint64_t> parse_unsigned(const std::string& text) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

}  // namespace

systemd_notifier systemd_notifier::from_environment(const environment& env) {
  systemd_notifier notifier;
  auto socket_it = env.find("NOTIFY_SOCKET");
  if (socket_it == env.end() || socket_it->second.empty()) return notifier;
  const std::string& name = socket_it->second;
  if ((name[0] != '/' && name[0] != '@') || name.size() < 2 || name.size() > sizeof(notifier.address_.sun_path)) {
    log::warn("NOTIFY_SOCKET is not an absolute path or @abstract name that fits a unix socket address; "
              "systemd will not be notified",
              {{"NOTIFY_SOCKET", name}});
    return notifier;
  }
  notifier.address_.sun_family = AF_UNIX;
  std::memcpy(notifier.address_.sun_path, name.data(), name.size());
  if (name[0] == '@') notifier.address_.sun_path[0] = '\0';  // abstract: the length, not a NUL, ends it
  notifier.address_length_ = socklen_t(offsetof(sockaddr_un, sun_path) + name.size());

  auto usec_it = env.find("WATCHDOG_USEC");
  if (usec_it == env.end()) return notifier;
  auto pid_it = env.find("WATCHDOG_PID");
  if (pid_it != env.end() && parse_unsigned(pid_it->second) != uint64_t(::getpid())) return notifier;  // not ours
  auto usec = parse_unsigned(usec_it->second);
  if (!usec || *usec < 2) {
    log::warn("WATCHDOG_USEC is not a positive number of microseconds; no watchdog pings",
              {{"WATCHDOG_USEC", usec_it->second}});
    return notifier;
  }
  notifier.watchdog_ping_interval_ = std::chrono::microseconds(*usec / 2);
  return notifier;
}

bool systemd_notifier::notify(std::string_view state) const {
  if (!enabled()) return false;
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    log::warn("cannot create a socket to notify systemd", {{"error", std::strerror(errno)}});
    return false;
  }
  ssize_t sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                          reinterpret_cast<const sockaddr*>(&address_), address_length_);
  int error = errno;
  ::close(fd);
  if (sent != ssize_t(state.size())) {
    if (!failure_logged_)  // once: a gone socket would otherwise log every watchdog ping
      log::warn("cannot notify systemd (further failures are not logged)",
                {{"state", state}, {"error", sent < 0 ? std::strerror(error) : "short send"}});
    failure_logged_ = true;
    return false;
  }
  return true;
}

}  // namespace ringkv::server
