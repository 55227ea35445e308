// logagent/config_watch.h - keeps the agent's sources equal to ringkv's keys:
//
//   loop: Get /logagent/<host>/sources/ and /logagent/defaults/ (both at one revision R) -> reconcile
//         Watch both prefixes from R + 1 (nothing changed after the Get is missed) -> apply each event
//         to the desired state -> reconcile
//         the watch ends (compacted past R + 1, or cancelled by the server) -> back to the Get
// A lost connection does not end the watch: client::watch_hub resumes it on the next endpoint from
// the next revision. `pause_after_get` (tests only) widens the window between Get and Watch.
#pragma once

#include <chrono>
#include <string>

#include "client/client.h"
#include "client/watch.h"
#include "logagent/agent.h"
#include "runtime/task.h"

namespace ringkv::logagent {

std::string sources_prefix(const std::string& host);
inline const std::string defaults_prefix = "/logagent/defaults/";
std::string status_key(const std::string& host);

runtime::task<void> follow_config(client::client& c, client::watch_hub& hub, agent& a,
                                  std::chrono::milliseconds pause_after_get);

// Puts status_key(host) = a.status_json() under a lease of ttl (granted again if lost), checked every
// period and put only when it changed (each put is a revision in ringkv).
runtime::task<void> publish_status(client::client& c, agent& a, std::chrono::seconds ttl,
                                   std::chrono::milliseconds period);

}  // namespace ringkv::logagent
