// tests/runtime/condition_test.cc - condition: notify_all wakes every waiter in waiting order, through
// the ready queue; notify_one wakes the oldest; wait_until re-checks its predicate after every wake.
#include "runtime/condition.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runtime/spawn.h"
#include "runtime/timer.h"
#include "tests/runtime/runtime_test_support.h"

namespace ringkv::runtime {
namespace {

using testing::run_one_shard;
using log_lines = std::vector<std::string>;

task<void> wait_once(condition& cond, std::string name, log_lines& log) {
  co_await cond.wait();
  log.push_back(name);
}

TEST(Condition, NotifyAllWakesEveryWaiterInWaitingOrderAfterTheNotifierContinues) {
  log_lines log;
  run_one_shard([&]() -> task<int> {
    condition cond;
    for (const char* name : {"a", "b", "c"}) spawn(wait_once(cond, name, log));
    co_await yield();
    EXPECT_EQ(cond.waiting(), 3u);
    cond.notify_all();
    EXPECT_EQ(cond.waiting(), 0u);
    log.push_back("notifier");
    co_await yield();
    co_return 0;
  });
  EXPECT_EQ(log, (log_lines{"notifier", "a", "b", "c"}));
}

TEST(Condition, NotifyOneWakesTheOldestWaiter) {
  log_lines log;
  run_one_shard([&]() -> task<int> {
    condition cond;
    for (const char* name : {"a", "b"}) spawn(wait_once(cond, name, log));
    co_await yield();
    cond.notify_one();
    co_await yield();
    EXPECT_EQ(log, (log_lines{"a"}));
    EXPECT_EQ(cond.waiting(), 1u);
    cond.notify_one();
    co_await yield();
    co_return 0;
  });
  EXPECT_EQ(log, (log_lines{"a", "b"}));
}

TEST(Condition, NotifyWithNobodyWaitingIsLost) {
  log_lines log;
  run_one_shard([&]() -> task<int> {
    condition cond;
    cond.notify_all();
    spawn(wait_once(cond, "a", log));
    co_await yield();
    co_await yield();
    EXPECT_TRUE(log.empty());
    cond.notify_all();
    co_await yield();
    co_return 0;
  });
  EXPECT_EQ(log, (log_lines{"a"}));
}

// Waits twice; the second wait starts while notify_all's other waiters are still queued.
task<void> wait_twice(condition& cond, log_lines& log) {
  co_await cond.wait();
  log.push_back("first");
  co_await cond.wait();
  log.push_back("second");
}

TEST(Condition, AWaiterThatWaitsAgainWaitsForTheNextNotify) {
  log_lines log;
  run_one_shard([&]() -> task<int> {
    condition cond;
    spawn(wait_twice(cond, log));
    spawn(wait_once(cond, "other", log));
    co_await yield();
    cond.notify_all();
    co_await yield();
    co_await yield();
    EXPECT_EQ(log, (log_lines{"first", "other"}));
    EXPECT_EQ(cond.waiting(), 1u);
    cond.notify_all();
    co_await yield();
    co_return 0;
  });
  EXPECT_EQ(log, (log_lines{"first", "other", "second"}));
}

task<void> wait_for_count(condition& cond, const int& count, int target, int& seen) {
  co_await cond.wait_until([&count, target] { return count >= target; });
  seen = count;
}

TEST(Condition, WaitUntilRechecksThePredicateAfterEveryWake) {
  int seen = -1;
  run_one_shard([&]() -> task<int> {
    condition cond;
    int count = 0;
    spawn(wait_for_count(cond, count, 3, seen));
    for (int i = 0; i < 5; ++i) {
      co_await yield();
      ++count;
      cond.notify_all();
    }
    co_await yield();
    co_return 0;
  });
  EXPECT_EQ(seen, 3);
}

TEST(Condition, WaitUntilContinuesAtOnceWhenThePredicateHolds) {
  int seen = -1;
  run_one_shard([&]() -> task<int> {
    condition cond;
    const int count = 4;
    co_await wait_for_count(cond, count, 3, seen);
    EXPECT_EQ(cond.waiting(), 0u);
    co_return 0;
  });
  EXPECT_EQ(seen, 4);
}

}  // namespace
}  // namespace ringkv::runtime
