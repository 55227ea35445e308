// server/process/systemd_notify.h — systemd's service notification protocol (sd_notify(3)) without
// libsystemd: one datagram of newline-separated VARIABLE=VALUE lines, sent to the AF_UNIX socket that
// $NOTIFY_SOCKET names ("/run/systemd/notify", or "@name" for the abstract namespace). The kernel
// attaches our credentials, by which systemd knows the sender is the service's main process.
//
//   start ─ WAL replayed, ports open ─ leader known, member published ─> READY=1    (Type=notify: started)
//         ─ every WATCHDOG_USEC/2 from the raft shard's loop ──────────> WATCHDOG=1 (WatchdogSec=)
//   SIGTERM ───────────────────────────────────────────────────────────> STOPPING=1
//
// Without NOTIFY_SOCKET every call does nothing. A send that fails is logged and otherwise ignored:
// systemd decides what a missing notification means (a start timeout, a watchdog restart).
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "server/common/config.h"

namespace ringkv::server {

class systemd_notifier {
 public:
  // Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID; an unusable NOTIFY_SOCKET is logged (warn).
  static systemd_notifier from_environment(const environment& env);

  bool enabled() const { return address_length_ != 0; }
  // Sends `state` ("READY=1", "WATCHDOG=1\nSTATUS=...") as one datagram. Non-blocking: a datagram the
  // socket cannot take now is dropped (the first failure is logged), never waited for.
  bool notify(std::string_view state) const;
  // WATCHDOG_USEC / 2 when systemd asks this process for keep-alive pings (WATCHDOG_PID unset or ours).
  std::optional<std::chrono::microseconds> watchdog_ping_interval() const { return watchdog_ping_interval_; }

 private:
  sockaddr_un address_{};
  socklen_t address_length_ = 0;  // 0: no notification socket
  std::optional<std::chrono::microseconds> watchdog_ping_interval_;
  mutable bool failure_logged_ = false;  // used on the raft shard only
};

}  // namespace ringkv::server
