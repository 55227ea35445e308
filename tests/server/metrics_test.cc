// tests/server/metrics_test.cc — Prometheus text exposition of counters, gauges, labelled series and
// cumulative histograms.
#include "server/common/metrics.h"

#include <gtest/gtest.h>

#include <thread>

namespace ringkv::server::metrics {
namespace {

TEST(Metrics, CountersAndGaugesRender) {
  registry r;
  r.add_gauge("etcd_server_has_leader", "Whether or not a leader exists. 1 is existence, 0 is not.").set(1);
  auto& ok = r.add_counter("grpc_server_handled_total", "Total number of RPCs completed on the server.",
                           {{"grpc_method", "Range"}, {"grpc_code", "OK"}});
  ok.inc(3);
  r.add_counter("grpc_server_handled_total", "", {{"grpc_method", "Range"}, {"grpc_code", "OK"}}).inc();
  r.add_counter("grpc_server_handled_total", "", {{"grpc_method", "Put"}, {"grpc_code", "OK"}}).inc();
  EXPECT_EQ(ok.value(), 4u);
  EXPECT_EQ(r.render(),
            "# HELP etcd_server_has_leader Whether or not a leader exists. 1 is existence, 0 is not.\n"
            "# TYPE etcd_server_has_leader gauge\n"
            "etcd_server_has_leader 1\n"
            "# HELP grpc_server_handled_total Total number of RPCs completed on the server.\n"
            "# TYPE grpc_server_handled_total counter\n"
            "grpc_server_handled_total{grpc_method=\"Range\",grpc_code=\"OK\"} 4\n"
            "grpc_server_handled_total{grpc_method=\"Put\",grpc_code=\"OK\"} 1\n");
}

TEST(Metrics, HistogramIsCumulative) {
  registry r;
  auto& h = r.add_histogram("etcd_disk_wal_fsync_duration_seconds", "fsync latency",
                            exponential_buckets(0.001, 2, 3));
  h.observe(0.0005);
  h.observe(0.0015);
  h.observe(0.003);
  h.observe(10);
  EXPECT_EQ(r.render(),
            "# HELP etcd_disk_wal_fsync_duration_seconds fsync latency\n"
            "# TYPE etcd_disk_wal_fsync_duration_seconds histogram\n"
            "etcd_disk_wal_fsync_duration_seconds_bucket{le=\"0.001\"} 1\n"
            "etcd_disk_wal_fsync_duration_seconds_bucket{le=\"0.002\"} 2\n"
            "etcd_disk_wal_fsync_duration_seconds_bucket{le=\"0.004\"} 3\n"
            "etcd_disk_wal_fsync_duration_seconds_bucket{le=\"+Inf\"} 4\n"
            "etcd_disk_wal_fsync_duration_seconds_sum 10.005\n"
            "etcd_disk_wal_fsync_duration_seconds_count 4\n");
}

TEST(Metrics, LabelValuesAreEscaped) {
  registry r;
  r.add_gauge("g", "h", {{"path", "a\"b\\c"}}).set(2.5);
  EXPECT_NE(r.render().find("g{path=\"a\\\"b\\\\c\"} 2.5\n"), std::string::npos);
}

TEST(Metrics, ConcurrentUpdatesAreCounted) {
  registry r;
  auto& c = r.add_counter("c_total", "h");
  auto& g = r.add_gauge("g", "h");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) { c.inc(); g.add(1); }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 40000u);
  EXPECT_EQ(g.value(), 40000.0);
}

}  // namespace
}  // namespace ringkv::server::metrics
