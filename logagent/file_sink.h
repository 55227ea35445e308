// logagent/file_sink.h - delivery to a local JSON-lines file (use without Kafka, and in tests): each
// record becomes {"topic":..,"key":..,"value":<the record's JSON>}. Records are written and fdatasync'd
// in poll(), then acknowledged; synchronous calls on the agent's thread, once per poll.
#pragma once

#include <string>
#include <vector>

#include "logagent/delivery.h"

namespace ringkv::logagent {

class file_sink final : public line_sink {
 public:
  file_sink(std::string path, in_flight_budget& budget, agent_counters& counters)
      : path_(std::move(path)), budget_(budget), counters_(counters) {}
  ~file_sink() override;

  bool open(std::string& error);
  void send(record r) override { waiting_.push_back(std::move(r)); }
  void poll() override;
  void flush(int) override { poll(); }
  const std::string& fatal_error() const override { return fatal_error_; }
  const char* name() const override { return "file"; }

 private:
  std::string path_;
  in_flight_budget& budget_;
  agent_counters& counters_;
  int fd_ = -1;
  std::vector<record> waiting_;  // bounded by the budget
  std::string fatal_error_;
};

}  // namespace ringkv::logagent
