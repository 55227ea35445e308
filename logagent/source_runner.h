// logagent/source_runner.h - one running source: the files its path or glob names (re-expanded every
// rescan period, so new files are picked up), one file_tailer each, a lines-per-second bucket, and the
// record format: a JSON object {"host","source","path","offset","line", extra fields...} sent with key
// host:path to the source's topic.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "logagent/delivery.h"
#include "logagent/file_tailer.h"
#include "logagent/source_spec.h"

namespace ringkv::logagent {

struct runner_context {
  std::string host;
  offset_store& store;
  agent_counters& counters;
  in_flight_budget& budget;
  line_sink& sink;
};

class source_runner final : public record_emitter {
 public:
  static constexpr std::chrono::milliseconds rescan_period{1000};
  static constexpr size_t files_limit = 1024;  // files one source tails at once (a too-wide glob is cut)

  source_runner(source_spec spec, runner_context context);

  // Expands the glob (every rescan_period) and polls every tailer.
  void poll();

  const source_spec& spec() const { return spec_; }
  const std::map<std::string, std::unique_ptr<file_tailer>>& files() const { return tailers_; }

  bool can_emit() const override;
  void emit(const std::string& path, uint64_t start_offset, std::string_view text,
            const std::shared_ptr<file_progress>& progress, uint64_t end_offset) override;

 private:
  void rescan();

  source_spec spec_;
  runner_context context_;
  std::map<std::string, std::unique_ptr<file_tailer>> tailers_;  // by path
  std::chrono::steady_clock::time_point last_rescan_{};
  double tokens_ = 0;  // rate limit bucket (rate_lines_per_s > 0)
  std::chrono::steady_clock::time_point last_refill_{};
};

}  // namespace ringkv::logagent
