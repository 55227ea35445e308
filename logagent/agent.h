// logagent/agent.h - the agent's running state and its reconciliation: desired sources (from ringkv)
// against running ones. reconcile() starts what is new, restarts what changed, stops what is gone and
// skips (logs, counts, reports in status) what is invalid - it never depends on what was desired
// before, so applying the same desired state twice changes nothing and a full re-read after a watch
// failure converges. poll() drives the sink and every tailer; offsets are saved at most once per
// save_period and at shutdown.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "logagent/delivery.h"
#include "logagent/offset_store.h"
#include "logagent/source_runner.h"

namespace ringkv::logagent {

struct desired_config {
  std::map<std::string, std::string> sources;   // source name -> JSON
  std::map<std::string, std::string> defaults;  // defaults key -> JSON
};

class agent {
 public:
  static constexpr std::chrono::milliseconds save_period{1000};
  static constexpr size_t sources_limit = 1000;  // running sources per agent; more are reported invalid

  agent(std::string host, offset_store& store, in_flight_budget& budget, agent_counters& counters, line_sink& sink)
      : host_(std::move(host)), store_(store), budget_(budget), counters_(counters), sink_(sink) {}

  void reconcile(const desired_config& desired);
  void poll();
  // Shutdown: waits up to timeout_ms for acknowledgements, then saves the offsets (0 or -errno).
  int drain_and_save(int timeout_ms);

  std::string status_json() const;   // the value of /logagent/<host>/status
  std::string metrics_text() const;  // Prometheus text format
  const std::string& host() const { return host_; }
  size_t running_sources() const { return runners_.size(); }

 private:
  std::string host_;
  offset_store& store_;
  in_flight_budget& budget_;
  agent_counters& counters_;
  line_sink& sink_;
  std::map<std::string, std::unique_ptr<source_runner>> runners_;  // by source name
  std::map<std::string, std::string> invalid_;                      // source name -> why skipped
  std::chrono::steady_clock::time_point last_save_{};
};

}  // namespace ringkv::logagent
