// The outcome of one measured phase of a workload, and its two renderings: the text summary in the
// layout of etcd's benchmark tool (Summary / Requests/sec / histogram / Latency distribution / Error
// distribution) plus our lines (client CPU, server CPU), and a JSON object for scripts (bench/compare).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "client/status.h"
#include "bench/loadgen/latency_histogram.h"

namespace ringkv::bench {

// The errors table is keyed by etcd's gRPC code (a transport failure counts as UNAVAILABLE).
using client::grpc_code;
using client::status_code_name;

struct error_tally {
  uint64_t count = 0;
  std::string first_message;  // grpc-message of the first error with this code
};

struct bench_result {
  std::string title = "Summary";  // etcd's heading, e.g. "Watch events received summary"
  std::string workload;
  latency_histogram latencies;     // successful requests only (as etcd's tool)
  std::map<grpc_code, error_tally> errors_by_code;
  std::chrono::nanoseconds elapsed{0};
  std::chrono::microseconds client_cpu{0};
  // CPU of the server processes named by --server-pids over the same interval (unset: not measured).
  std::optional<std::chrono::microseconds> server_cpu;
  size_t server_processes = 0;
  // Workload-specific counts shown after the summary, e.g. {"txn compare failed", 12}.
  std::vector<std::pair<std::string, uint64_t>> counters;

  void record_error(grpc_code code, const std::string& message);
  void merge(const bench_result& other);  // latencies, errors, counters (by name); not elapsed/cpu
  uint64_t requests_ok() const { return latencies.count_total(); }
  uint64_t requests_failed() const;
  void add_counter(const std::string& name, uint64_t value);
};

struct print_style {
  bool precise = false;  // %g instead of %4.4f, as etcd's --precise
};

// Text summary; the result's histogram must be finalized.
void print_summary(std::ostream& out, const bench_result& result, print_style style);

// One JSON object (no trailing newline); latencies in microseconds.
void print_json(std::ostream& out, const bench_result& result);

}  // namespace ringkv::bench
