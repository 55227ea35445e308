// server/process/systemd_lifecycle.cc — see systemd_lifecycle.h.
#include "server/process/systemd_lifecycle.h"

#include <string>

#include "runtime/log.h"
#include "runtime/timer.h"

namespace ringkv::server {

runtime::task<void> notify_ready_when_serving(const systemd_notifier& notifier, etcd_server& server) {
  if (!co_await server.wait_ready()) co_return;
  const std::string state = "READY=1\nSTATUS=serving client requests as member " +
                            log::hex_id_text(server.member().driver().id());
  if (notifier.notify(state)) log::info("notified systemd: READY=1");
}

runtime::task<void> feed_watchdog(const systemd_notifier& notifier, std::chrono::microseconds interval,
                                  runtime::cancel_token* stop) {
  // Kept plain: a `do { } while (co_await ...)` form, with the count converted inside the braced log
  // fields, never ran its body under g++ 12 (the task parked at once, and the shutdown waited on it).
  const int64_t interval_us = interval.count();
  log::info("feeding the systemd watchdog", {{"ping-interval-us", interval_us}});
  while (true) {
    notifier.notify("WATCHDOG=1");
    const int slept = co_await runtime::sleep_for(interval, stop);
    if (slept != 0) break;
  }
}

}  // namespace ringkv::server
