// The summary is laid out like etcd's benchmark tool (scripts grep "Requests/sec:"), errors are
// shown by gRPC code, and the JSON carries the exact percentiles.
#include "bench/loadgen/bench_result.h"

#include <gtest/gtest.h>

#include <sstream>

namespace ringkv::bench {
namespace {

bench_result make_result() {
  bench_result r;
  r.workload = "put";
  for (int i = 1; i <= 1000; ++i) r.latencies.record(std::chrono::microseconds(i));
  r.latencies.finalize();
  r.elapsed = std::chrono::seconds(2);
  r.client_cpu = std::chrono::microseconds(5010);
  r.record_error(grpc_code::resource_exhausted, "etcdserver: too many requests");
  r.record_error(grpc_code::resource_exhausted, "second message is not kept");
  r.record_error(grpc_code::invalid_argument, "etcdserver: request is too large");
  return r;
}

TEST(BenchResult, SummaryHasEtcdLines) {
  std::ostringstream out;
  print_summary(out, make_result(), print_style{});
  const std::string text = out.str();
  EXPECT_NE(text.find("\nSummary:\n  Total:\t2.0000 secs.\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  Slowest:\t0.0010 secs.\n"), std::string::npos);
  EXPECT_NE(text.find("  Fastest:\t0.0000 secs.\n"), std::string::npos);
  EXPECT_NE(text.find("  Requests/sec:\t500.0000\n"), std::string::npos);
  EXPECT_NE(text.find("\nResponse time histogram:\n"), std::string::npos);
  EXPECT_NE(text.find("\nLatency distribution:\n"), std::string::npos);
  EXPECT_NE(text.find("  99.9% in 0.0010 secs.\n"), std::string::npos);
  EXPECT_NE(text.find("\nError distribution:\n"), std::string::npos);
  EXPECT_NE(text.find("  [2]\trpc error: code = ResourceExhausted desc = etcdserver: too many requests\n"),
            std::string::npos);
  EXPECT_NE(text.find("  [1]\trpc error: code = InvalidArgument desc = etcdserver: request is too large\n"),
            std::string::npos);
  EXPECT_NE(text.find("Client CPU:\t5.00 µs/request"), std::string::npos);  // 5010 µs / 1003 requests
}

TEST(BenchResult, PreciseUsesFullPrecision) {
  std::ostringstream out;
  print_summary(out, make_result(), print_style{.precise = true});
  EXPECT_NE(out.str().find("  Slowest:\t0.001 secs.\n"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("  50% in 0.0005 secs.\n"), std::string::npos);
}

TEST(BenchResult, HistogramCountsEverySample) {
  std::ostringstream out;
  print_summary(out, make_result(), print_style{});
  std::istringstream lines(out.str());
  std::string line;
  bool in_histogram = false;
  uint64_t counted = 0;
  while (std::getline(lines, line)) {
    if (line == "Response time histogram:") in_histogram = true;
    else if (line.empty()) in_histogram = false;
    else if (in_histogram) counted += std::stoull(line.substr(line.find('[') + 1));
  }
  EXPECT_EQ(counted, 1000u);
}

TEST(BenchResult, JsonCarriesPercentilesAndErrors) {
  std::ostringstream out;
  print_json(out, make_result());
  const std::string json = out.str();
  EXPECT_NE(json.find("\"requests_ok\":1000"), std::string::npos) << json;
  EXPECT_NE(json.find("\"requests_failed\":3"), std::string::npos);
  EXPECT_NE(json.find("\"requests_per_s\":500.000"), std::string::npos);
  EXPECT_NE(json.find("\"p50\":500.000"), std::string::npos);
  EXPECT_NE(json.find("\"p99_9\":999.000"), std::string::npos);
  EXPECT_NE(json.find("\"max\":1000.000"), std::string::npos);
  EXPECT_NE(json.find("\"ResourceExhausted\":{\"count\":2"), std::string::npos);
}

TEST(BenchResult, JsonEscapesTextAndKeepsLongTitlesWhole) {
  bench_result r = make_result();
  r.title = std::string(600, 't') + " \"quoted\"\n";
  r.record_error(grpc_code::unavailable, "recv: reset\tby \\peer");
  std::ostringstream out;
  print_json(out, r);
  const std::string json = out.str();
  EXPECT_NE(json.find("{\"title\":\"" + std::string(600, 't') + " \\\"quoted\\\"\\n\",\"workload\":\"put\","),
            std::string::npos) << json;
  EXPECT_NE(json.find("\"message\":\"recv: reset\\tby \\\\peer\"}"), std::string::npos) << json;
}

TEST(BenchResult, NoSuccessStillShowsErrors) {
  bench_result r;
  r.record_error(grpc_code::unavailable, "connection refused");
  r.latencies.finalize();
  std::ostringstream out;
  print_summary(out, r, print_style{});
  EXPECT_NE(out.str().find("no successful requests"), std::string::npos);
  EXPECT_NE(out.str().find("[1]\trpc error: code = Unavailable desc = connection refused"), std::string::npos);
}

TEST(BenchResult, MergeAddsErrorsAndCounters) {
  bench_result a = make_result(), b = make_result();
  a.add_counter("txn compare failed", 2);
  b.add_counter("txn compare failed", 3);
  a.merge(b);
  EXPECT_EQ(a.requests_failed(), 6u);
  EXPECT_EQ(a.requests_ok(), 2000u);
  ASSERT_EQ(a.counters.size(), 1u);
  EXPECT_EQ(a.counters[0].second, 5u);
}

}  // namespace
}  // namespace ringkv::bench
