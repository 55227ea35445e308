// Rendering of bench_result: etcd benchmark tool layout (see pkg/report in etcd) and JSON.
#include "bench/loadgen/bench_result.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <string>
#include <string_view>

#include "runtime/json_text.h"

namespace ringkv::bench {
namespace {

constexpr double percentiles_printed[] = {10, 25, 50, 75, 90, 95, 99, 99.9};
constexpr int histogram_buckets = 10;
constexpr int histogram_bar_width = 40;

std::string format_seconds(double seconds, print_style style) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, style.precise ? "%g" : "%4.4f", seconds);
  return buffer;
}

double to_seconds(double ns) { return ns / 1e9; }

double per_request_us(std::chrono::microseconds cpu, uint64_t requests) {
  return requests ? static_cast<double>(cpu.count()) / static_cast<double>(requests) : 0.0;
}

// `text` as a JSON string literal, quotes included.
std::string json_string(std::string_view text) {
  std::string out;
  runtime::append_json_string(out, text);
  return out;
}

void print_histogram(std::ostream& out, const latency_histogram& h, print_style style) {
  const auto& samples = h.sorted_samples_ns();
  const double fastest = static_cast<double>(samples.front());
  const double slowest = static_cast<double>(samples.back());
  const double width = (slowest - fastest) / histogram_buckets;
  double bounds[histogram_buckets + 1];
  uint64_t counts[histogram_buckets + 1] = {};
  for (int i = 0; i < histogram_buckets; ++i) bounds[i] = fastest + width * i;
  bounds[histogram_buckets] = slowest;
  int bucket = 0;
  for (uint64_t sample : samples) {  // sorted: walk the buckets forward
    while (static_cast<double>(sample) > bounds[bucket] && bucket < histogram_buckets) ++bucket;
    ++counts[bucket];
  }
  const uint64_t most = *std::max_element(std::begin(counts), std::end(counts));
  out << "\nResponse time histogram:\n";
  for (int i = 0; i <= histogram_buckets; ++i) {
    const uint64_t bar = most ? counts[i] * histogram_bar_width / most : 0;
    out << "  " << format_seconds(to_seconds(bounds[i]), style) << " [" << counts[i] << "]\t|";
    for (uint64_t j = 0; j < bar; ++j) out << "\u220e";
    out << "\n";
  }
}

}  // namespace

void bench_result::record_error(grpc_code code, const std::string& message) {
  auto& tally = errors_by_code[code];
  if (tally.count++ == 0) tally.first_message = message;
}

uint64_t bench_result::requests_failed() const {
  uint64_t total = 0;
  for (const auto& [code, tally] : errors_by_code) total += tally.count;
  return total;
}

void bench_result::add_counter(const std::string& name, uint64_t value) {
  for (auto& [existing, count] : counters) {
    if (existing == name) {
      count += value;
      return;
    }
  }
  counters.emplace_back(name, value);
}

void bench_result::merge(const bench_result& other) {
  latencies.merge(other.latencies);
  for (const auto& [code, tally] : other.errors_by_code) {
    auto& mine = errors_by_code[code];
    if (mine.count == 0) mine.first_message = tally.first_message;
    mine.count += tally.count;
  }
  for (const auto& [name, value] : other.counters) add_counter(name, value);
}

void print_summary(std::ostream& out, const bench_result& result, print_style style) {
  const latency_histogram& h = result.latencies;
  const double elapsed_s = std::chrono::duration<double>(result.elapsed).count();
  if (h.count_stored() > 0) {
    out << "\n" << result.title << ":\n";
    out << "  Total:\t" << format_seconds(elapsed_s, style) << " secs.\n";
    out << "  Slowest:\t" << format_seconds(to_seconds(static_cast<double>(h.max().count())), style) << " secs.\n";
    out << "  Fastest:\t" << format_seconds(to_seconds(static_cast<double>(h.min().count())), style) << " secs.\n";
    out << "  Average:\t" << format_seconds(to_seconds(h.mean_ns()), style) << " secs.\n";
    out << "  Stddev:\t" << format_seconds(to_seconds(h.stddev_ns()), style) << " secs.\n";
    char rate[64];
    std::snprintf(rate, sizeof rate, style.precise ? "%g" : "%4.4f",
                  elapsed_s > 0 ? static_cast<double>(h.count_total()) / elapsed_s : 0.0);
    out << "  Requests/sec:\t" << rate << "\n";
    print_histogram(out, h, style);
    out << "\nLatency distribution:\n";
    for (double q : percentiles_printed) {
      char label[16];
      std::snprintf(label, sizeof label, "%g%%", q);
      out << "  " << label << " in " << format_seconds(to_seconds(static_cast<double>(h.percentile(q).count())), style)
          << " secs.\n";
    }
    if (h.count_stored() < h.count_total()) {
      out << "  (percentiles over the first " << h.count_stored() << " of " << h.count_total() << " samples)\n";
    }
  } else {
    out << "\n" << result.title << ":\n  no successful requests in "
        << format_seconds(elapsed_s, style) << " secs.\n";
  }
  if (!result.errors_by_code.empty()) {
    out << "\nError distribution:\n";
    for (const auto& [code, tally] : result.errors_by_code) {
      out << "  [" << tally.count << "]\trpc error: code = " << status_code_name(code)
          << " desc = " << tally.first_message << "\n";
    }
  }
  for (const auto& [name, value] : result.counters) out << "  " << name << ":\t" << value << "\n";
  const uint64_t requests = result.requests_ok() + result.requests_failed();
  char cpu[128];
  std::snprintf(cpu, sizeof cpu, "%.2f µs/request (%.3f s over %" PRIu64 " requests)",
                per_request_us(result.client_cpu, requests), static_cast<double>(result.client_cpu.count()) / 1e6,
                requests);
  out << "\nClient CPU:\t" << cpu << "\n";
  if (result.server_cpu) {
    std::snprintf(cpu, sizeof cpu, "%.2f µs/request (%.3f s over %" PRIu64 " requests, %zu process%s)",
                  per_request_us(*result.server_cpu, requests),
                  static_cast<double>(result.server_cpu->count()) / 1e6, requests, result.server_processes,
                  result.server_processes == 1 ? "" : "es");
    out << "Server CPU:\t" << cpu << "\n";
  }
}

void print_json(std::ostream& out, const bench_result& result) {
  const latency_histogram& h = result.latencies;
  const double elapsed_s = std::chrono::duration<double>(result.elapsed).count();
  const uint64_t requests = result.requests_ok() + result.requests_failed();
  auto us = [](std::chrono::nanoseconds ns) { return static_cast<double>(ns.count()) / 1e3; };
  char buffer[512];
  out << "{\"title\":" << json_string(result.title) << ",\"workload\":" << json_string(result.workload);
  std::snprintf(buffer, sizeof buffer,
                ",\"requests_ok\":%" PRIu64 ",\"requests_failed\":%" PRIu64
                ",\"elapsed_s\":%.6f,\"requests_per_s\":%.3f,\"client_cpu_us_per_request\":%.3f",
                result.requests_ok(), result.requests_failed(), elapsed_s,
                elapsed_s > 0 ? static_cast<double>(result.requests_ok()) / elapsed_s : 0.0,
                per_request_us(result.client_cpu, requests));
  out << buffer;
  if (result.server_cpu) {
    std::snprintf(buffer, sizeof buffer, ",\"server_cpu_us_per_request\":%.3f,\"server_processes\":%zu",
                  per_request_us(*result.server_cpu, requests), result.server_processes);
    out << buffer;
  }
  if (h.count_stored() > 0) {
    std::snprintf(buffer, sizeof buffer,
                  ",\"latency_us\":{\"min\":%.3f,\"mean\":%.3f,\"stddev\":%.3f,\"p50\":%.3f,\"p90\":%.3f,"
                  "\"p99\":%.3f,\"p99_9\":%.3f,\"max\":%.3f}",
                  us(h.min()), h.mean_ns() / 1e3, h.stddev_ns() / 1e3, us(h.percentile(50)), us(h.percentile(90)),
                  us(h.percentile(99)), us(h.percentile(99.9)), us(h.max()));
    out << buffer;
  }
  out << ",\"errors\":{";
  bool first = true;
  for (const auto& [code, tally] : result.errors_by_code) {
    out << (first ? "" : ",") << "\"" << status_code_name(code) << "\":{\"count\":" << tally.count
        << ",\"message\":" << json_string(tally.first_message) << "}";
    first = false;
  }
  out << "},\"counters\":{";
  first = true;
  for (const auto& [name, value] : result.counters) {
    out << (first ? "" : ",") << json_string(name) << ":" << value;
    first = false;
  }
  out << "}}";
}

}  // namespace ringkv::bench
