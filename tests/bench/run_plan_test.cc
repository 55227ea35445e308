// run_plan hands out exactly --total requests, stops at the --duration deadline, and in open loop
// schedules request i at start + i/rate (and never beyond the deadline).
#include "bench/loadgen/run_plan.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

namespace ringkv::bench {
namespace {

using namespace std::chrono_literals;

TEST(RunPlan, TotalBoundedHandsOutEachIndexOnce) {
  run_plan plan(5, 0ns, 0);
  const auto now = bench_clock::now();
  plan.start(now);
  std::vector<uint64_t> got;
  while (auto index = plan.claim(now)) got.push_back(*index);
  EXPECT_EQ(got, (std::vector<uint64_t>{0, 1, 2, 3, 4}));
  EXPECT_FALSE(plan.claim(now));
  EXPECT_EQ(plan.expected_total(), 5u);
}

TEST(RunPlan, ConcurrentClaimsNeverDuplicateOrExceedTotal) {
  run_plan plan(10000, 0ns, 0);
  plan.start(bench_clock::now());
  std::vector<std::vector<uint64_t>> claimed(4);
  std::vector<std::thread> threads;
  for (auto& mine : claimed) {
    threads.emplace_back([&plan, &mine] {
      while (auto index = plan.claim(bench_clock::now())) mine.push_back(*index);
    });
  }
  for (auto& t : threads) t.join();
  std::set<uint64_t> all;
  size_t count = 0;
  for (const auto& mine : claimed) {
    all.insert(mine.begin(), mine.end());
    count += mine.size();
  }
  EXPECT_EQ(count, 10000u);
  EXPECT_EQ(all.size(), 10000u);
  EXPECT_EQ(*all.rbegin(), 9999u);
}

TEST(RunPlan, DurationBoundedStopsAtTheDeadline) {
  run_plan plan(10, 2s, 0);  // a duration overrides --total
  const auto start = bench_clock::now();
  plan.start(start);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(plan.claim(start + 1s));
  EXPECT_FALSE(plan.claim(start + 2s));
  EXPECT_EQ(plan.expected_total(), 0u);
}

TEST(RunPlan, OpenLoopSchedulesAtTheRate) {
  run_plan plan(0, 1s, 200);  // 200/s for 1 s: requests 0..199
  const auto start = bench_clock::now();
  plan.start(start);
  EXPECT_TRUE(plan.open_loop());
  EXPECT_EQ(plan.due_time(0), start);
  EXPECT_EQ(plan.due_time(1) - start, 5ms);
  EXPECT_EQ(plan.due_time(200) - start, 1s);
  uint64_t claimed = 0;
  while (plan.claim(start)) ++claimed;  // claiming early is allowed; due times bound the run
  EXPECT_EQ(claimed, 200u);
}

}  // namespace
}  // namespace ringkv::bench
