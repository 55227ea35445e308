// tests/runtime/gate_test.cc - gate: close() waits for every spawned task and entered scope (including a
// task that throws, whose exception close() rethrows), refuses entry once closed, completes at once
// when empty.
#include "runtime/gate.h"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <utility>

#include "runtime/spawn.h"
#include "runtime/timer.h"
#include "tests/runtime/runtime_test_support.h"

namespace ringkv::runtime {
namespace {

using namespace std::chrono_literals;
using testing::run_one_shard;

task<void> sleep_then_count(std::chrono::milliseconds pause, int& ended) {
  co_await sleep_for(pause);
  ++ended;
}

TEST(Gate, CloseWaitsForEverySpawnedTask) {
  int ended = 0;
  int ended_when_closed = -1;
  run_one_shard([&]() -> task<int> {
    gate g;
    EXPECT_TRUE(g.spawn(sleep_then_count(5ms, ended)));
    EXPECT_TRUE(g.spawn(sleep_then_count(1ms, ended)));
    EXPECT_TRUE(g.spawn(sleep_then_count(0ms, ended)));
    EXPECT_EQ(g.inside(), 3u);  // counted before they start
    co_await g.close();
    ended_when_closed = ended;
    co_return 0;
  });
  EXPECT_EQ(ended_when_closed, 3);
}

task<void> throw_after(std::chrono::milliseconds pause, std::string message) {
  co_await sleep_for(pause);
  throw std::runtime_error(message);
}

TEST(Gate, CloseWaitsForTasksThatThrowAndRethrowsTheFirstError) {
  int ended = 0;
  int ended_when_thrown = -1;
  std::string error;
  run_one_shard([&]() -> task<int> {
    gate g;
    EXPECT_TRUE(g.spawn(throw_after(0ms, "first")));
    EXPECT_TRUE(g.spawn(sleep_then_count(5ms, ended)));
    EXPECT_TRUE(g.spawn(throw_after(2ms, "second")));
    try {
      co_await g.close();
    } catch (const std::runtime_error& e) {
      error = e.what();
      ended_when_thrown = ended;
    }
    EXPECT_EQ(g.inside(), 0u);
    co_return 0;
  });
  EXPECT_EQ(error, "first");
  EXPECT_EQ(ended_when_thrown, 1);
}

task<void> hold_for([[maybe_unused]] gate::holder inside, std::chrono::milliseconds pause, int& ended) {
  co_await sleep_for(pause);
  ++ended;
  // `inside` leaves the gate when this frame ends
}

TEST(Gate, CloseWaitsForEnteredScopes) {
  int ended = 0;
  int ended_when_closed = -1;
  run_one_shard([&]() -> task<int> {
    gate g;
    gate::holder first = g.enter();
    EXPECT_TRUE(static_cast<bool>(first));
    spawn(hold_for(std::move(first), 3ms, ended));  // moved: still one entry
    spawn(hold_for(g.enter(), 1ms, ended));
    EXPECT_EQ(g.inside(), 2u);
    {
      gate::holder scoped = g.enter();
      EXPECT_EQ(g.inside(), 3u);
    }
    EXPECT_EQ(g.inside(), 2u);
    co_await g.close();
    ended_when_closed = ended;
    co_return 0;
  });
  EXPECT_EQ(ended_when_closed, 2);
}

task<void> set_flag(bool& flag) {
  flag = true;
  co_return;
}

TEST(Gate, RefusesEntryOnceClosed) {
  bool refused_work_ran = false;
  bool closed_at_once = false;
  run_one_shard([&]() -> task<int> {
    gate g;
    task<void> closing = g.close();  // closed now, before the task is awaited
    EXPECT_TRUE(g.closed());
    EXPECT_FALSE(g.spawn(set_flag(refused_work_ran)));
    gate::holder refused = g.enter();
    EXPECT_FALSE(static_cast<bool>(refused));
    EXPECT_EQ(g.inside(), 0u);
    co_await closing;
    closed_at_once = g.inside() == 0;
    co_await yield();
    co_return 0;
  });
  EXPECT_FALSE(refused_work_ran);
  EXPECT_TRUE(closed_at_once);
}

TEST(Gate, CloserIsResumedThroughTheReadyQueueAfterTheLastLeaves) {
  std::string order;
  run_one_shard([&]() -> task<int> {
    gate g;
    gate::holder inside = g.enter();
    spawn([](gate::holder held, std::string& log) -> task<void> {
      co_await yield();
      held.release();
      log += "left,";
    }(std::move(inside), order));
    co_await g.close();
    order += "closed";
    co_return 0;
  });
  EXPECT_EQ(order, "left,closed");
}

}  // namespace
}  // namespace ringkv::runtime
