// server/process/systemd_lifecycle.h — what the member tells systemd over its life (systemd_notify.h has
// the protocol): READY=1 once the member serves, as etcd's ReadyNotify (a leader is known and this member
// published itself through raft, so a write can commit), and WATCHDOG=1 pings from the raft shard's loop
// for as long as it turns (a loop stuck for WatchdogSec= gets the service restarted). Both run on the raft
// shard inside main's task group; STOPPING=1 is main's, when the stop request arrives.
#pragma once

#include <chrono>

#include "runtime/cancel.h"
#include "runtime/task.h"
#include "server/api/etcd_server.h"
#include "server/process/systemd_notify.h"

namespace ringkv::server {

// Waits until `server` serves, then sends READY=1 (nothing if it stops first).
runtime::task<void> notify_ready_when_serving(const systemd_notifier& notifier, etcd_server& server);

// WATCHDOG=1 now and then every `interval` until `stop` is cancelled.
runtime::task<void> feed_watchdog(const systemd_notifier& notifier, std::chrono::microseconds interval,
                                  runtime::cancel_token* stop);

}  // namespace ringkv::server
