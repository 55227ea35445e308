// Exact percentiles of latency_histogram on synthetic samples with known answers.
#include "bench/loadgen/latency_histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace ringkv::bench {
namespace {

using std::chrono::nanoseconds;

TEST(LatencyHistogram, PercentilesOfOneToThousandAreNearestRank) {
  latency_histogram h;
  std::vector<int> values(1000);
  for (int i = 0; i < 1000; ++i) values[i] = i + 1;
  std::shuffle(values.begin(), values.end(), std::mt19937(7));
  for (int v : values) h.record(nanoseconds(v));
  h.finalize();
  EXPECT_EQ(h.percentile(50).count(), 500);
  EXPECT_EQ(h.percentile(90).count(), 900);
  EXPECT_EQ(h.percentile(99).count(), 990);
  EXPECT_EQ(h.percentile(99.9).count(), 999);
  EXPECT_EQ(h.percentile(100).count(), 1000);
  EXPECT_EQ(h.max().count(), 1000);
  EXPECT_EQ(h.min().count(), 1);
  EXPECT_DOUBLE_EQ(h.mean_ns(), 500.5);
}

TEST(LatencyHistogram, SingleOutlierOnlyShowsAtTheTop) {
  latency_histogram h;
  for (int i = 0; i < 999; ++i) h.record(nanoseconds(100));
  h.record(nanoseconds(1'000'000));
  h.finalize();
  EXPECT_EQ(h.percentile(50).count(), 100);
  EXPECT_EQ(h.percentile(99).count(), 100);
  EXPECT_EQ(h.percentile(99.9).count(), 100);  // rank 999 of 1000
  EXPECT_EQ(h.max().count(), 1'000'000);
}

TEST(LatencyHistogram, SmallCountsRoundRankUp) {
  latency_histogram h;
  for (int v : {30, 10, 20}) h.record(nanoseconds(v));
  h.finalize();
  EXPECT_EQ(h.percentile(0).count(), 10);
  EXPECT_EQ(h.percentile(33).count(), 10);   // ceil(0.99) = 1
  EXPECT_EQ(h.percentile(34).count(), 20);   // ceil(1.02) = 2
  EXPECT_EQ(h.percentile(50).count(), 20);
  EXPECT_EQ(h.percentile(67).count(), 30);
}

TEST(LatencyHistogram, MergeCombinesShards) {
  latency_histogram a, b;
  for (int i = 1; i <= 50; ++i) a.record(nanoseconds(i * 2));      // even 2..100
  for (int i = 0; i < 50; ++i) b.record(nanoseconds(i * 2 + 1));   // odd 1..99
  a.merge(b);
  a.finalize();
  EXPECT_EQ(a.count_total(), 100u);
  EXPECT_EQ(a.percentile(50).count(), 50);
  EXPECT_EQ(a.percentile(90).count(), 90);
  EXPECT_EQ(a.min().count(), 1);
  EXPECT_EQ(a.max().count(), 100);
}

TEST(LatencyHistogram, StddevIsPopulationStddev) {
  latency_histogram h;
  for (int v : {2, 4, 4, 4, 5, 5, 7, 9}) h.record(nanoseconds(v));
  h.finalize();
  EXPECT_DOUBLE_EQ(h.mean_ns(), 5.0);
  EXPECT_DOUBLE_EQ(h.stddev_ns(), 2.0);
}

TEST(LatencyHistogram, NegativeLatencyClampsToZero) {
  latency_histogram h;
  h.record(nanoseconds(-5));
  h.finalize();
  EXPECT_EQ(h.min().count(), 0);
}

}  // namespace
}  // namespace ringkv::bench
