// tests/runtime/timer_test.cc - sleep_for ordering, cancelled timers never fire, with_timeout, alarm.
#include "runtime/timer.h"

#include <gtest/gtest.h>

#include <vector>

#include "runtime/condition.h"
#include "runtime/reactor.h"
#include "tests/runtime/runtime_test_support.h"
#include "runtime/spawn.h"
#include "runtime/when_all.h"

namespace ringkv::runtime {
namespace {

using namespace std::chrono_literals;

using testing::run_one_shard;

TEST(Timer, SleepWaitsAtLeastTheDuration) {
  const int result = run_one_shard([]() -> task<int> {
    const auto start = clock::now();
    const int rc = co_await sleep_for(20ms);
    co_return (rc == 0 && clock::now() - start >= 20ms) ? 0 : 1;
  });
  EXPECT_EQ(result, 0);
}

TEST(Timer, TimersFireInDeadlineOrderAndTiesInArmingOrder) {
  const int result = run_one_shard([]() -> task<int> {
    std::vector<int> fired;
    task_group group;
    // Armed out of order; ids 3 and 4 share a deadline and must fire in arming order.
    const int delays_ms[] = {30, 10, 20, 25, 25, 5, 15};
    const auto base = clock::now();
    for (int id = 0; id < 7; ++id) {
      group.spawn([](std::vector<int>& out, int id, clock::time_point at) -> task<void> {
        co_await sleep_until(at);
        out.push_back(id);
      }(fired, id, base + std::chrono::milliseconds(delays_ms[id])));
    }
    co_await group.wait();
    const std::vector<int> expected = {5, 1, 6, 2, 3, 4, 0};
    co_return fired == expected ? 0 : 1;
  });
  EXPECT_EQ(result, 0);
}

TEST(Timer, CancelledTimersNeverFire) {
  const int result = run_one_shard([]() -> task<int> {
    cancel_source cancel_these;
    int fired = 0;
    int cancelled = 0;
    task_group group;
    for (int i = 0; i < 100; ++i) {
      const bool doomed = i % 2 == 0;
      group.spawn([](cancel_token* token, int& fired, int& cancelled) -> task<void> {
        const int rc = co_await sleep_for(20ms, token);
        if (rc == 0) ++fired;
        if (rc == -ECANCELED) ++cancelled;
      }(doomed ? cancel_these.token() : nullptr, fired, cancelled));
    }
    co_await sleep_for(2ms);
    cancel_these.cancel();
    co_await group.wait();
    // And a sleep started with an already-cancelled token ends at once.
    const auto start = clock::now();
    const int late = co_await sleep_for(1s, cancel_these.token());
    const bool immediate = clock::now() - start < 500ms;
    co_return (fired == 50 && cancelled == 50 && late == -ECANCELED && immediate) ? 0 : 1;
  });
  EXPECT_EQ(result, 0);
}

TEST(Timer, WithTimeoutReportsEtimedoutOrTheResult) {
  const int result = run_one_shard([]() -> task<int> {
    const int slow = co_await with_timeout(5ms, [](cancel_token* token) { return sleep_for(10s, token); });
    const int fast = co_await with_timeout(1s, [](cancel_token* token) { return sleep_for(1ms, token); });
    co_return (slow == -ETIMEDOUT && fast == 0) ? 0 : 1;
  });
  EXPECT_EQ(result, 0);
}

TEST(Timer, AlarmFiresOnceAfterItsDeadlineUnlessDisarmedOrDestroyed) {
  const int result = run_one_shard([]() -> task<int> {
    int fired = 0, disarmed_fired = 0, destroyed_fired = 0;
    const auto start = clock::now();
    clock::time_point fired_at{};
    alarm ringing(start + 10ms, [&] {
      ++fired;
      fired_at = clock::now();
    });
    alarm disarmed(start + 5ms, [&] { ++disarmed_fired; });
    disarmed.disarm();
    {
      alarm destroyed(start + 5ms, [&] { ++destroyed_fired; });
    }
    co_await sleep_for(30ms);
    const bool ok = fired == 1 && ringing.expired() && fired_at - start >= 10ms && disarmed_fired == 0 &&
                    !disarmed.expired() && destroyed_fired == 0;
    co_return ok ? 0 : 1;
  });
  EXPECT_EQ(result, 0);
}

TEST(Timer, AlarmEndsAConditionWaitAtItsDeadline) {
  const int result = run_one_shard([]() -> task<int> {
    condition changed;
    bool expired = false;
    const auto start = clock::now();
    const alarm give_up(start + 10ms, [&] {
      expired = true;
      changed.notify_all();
    });
    co_await changed.wait_until([&] { return expired; });
    co_return clock::now() - start >= 10ms ? 0 : 1;
  });
  EXPECT_EQ(result, 0);
}

TEST(Timer, YieldLetsOthersRun) {
  const int result = run_one_shard([]() -> task<int> {
    int steps = 0;
    spawn([](int& s) -> task<void> {
      s = 1;
      co_return;
    }(steps));
    co_await yield();
    co_return steps == 1 ? 0 : 1;
  });
  EXPECT_EQ(result, 0);
}

}  // namespace
}  // namespace ringkv::runtime
