// tests/runtime/task_test.cc - task<T>: laziness, deep chains (symmetric transfer), values, exceptions
// across awaits, detached spawn.
#include "runtime/task.h"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "runtime/io.h"
#include "runtime/reactor.h"
#include "tests/runtime/runtime_test_support.h"
#include "runtime/spawn.h"
#include "runtime/timer.h"

namespace ringkv::runtime {
namespace {

using testing::run_one_shard;

task<long> chain(int depth) {
  if (depth == 0) co_return 0;
  const long below = co_await chain(depth - 1);
  co_return below + 1;
}

TEST(Task, ChainOf100kAwaitsRunsWithoutGrowingTheStack) {
  constexpr int depth = 100'000;
  const int result = run_one_shard([]() -> task<int> {
    const long reached = co_await chain(depth);
    co_return reached == depth ? 0 : 1;
  });
  EXPECT_EQ(result, 0);
}

task<int> counted_down_after_suspending(int depth) {
  if (depth == 0) {
    co_await io::nop();  // really suspends in the kernel at the bottom of the chain
    co_return 0;
  }
  co_return 1 + co_await counted_down_after_suspending(depth - 1);
}

TEST(Task, DeepChainResumedFromACompletionUnwindsWithoutGrowingTheStack) {
  constexpr int depth = 100'000;
  EXPECT_EQ(run_one_shard([]() -> task<int> { co_return co_await counted_down_after_suspending(depth); }), depth);
}

TEST(Task, IsLazyUntilAwaited) {
  const int result = run_one_shard([]() -> task<int> {
    bool started = false;
    auto body = [&]() -> task<void> {
      started = true;
      co_return;
    };
    task<void> pending = body();
    const bool started_before_await = started;
    co_await pending;
    co_return (!started_before_await && started) ? 0 : 1;
  });
  EXPECT_EQ(result, 0);
}

task<std::unique_ptr<std::string>> make_move_only() {
  co_await io::nop();
  co_return std::make_unique<std::string>("moved");
}

TEST(Task, CarriesMoveOnlyValues) {
  const int result = run_one_shard([]() -> task<int> {
    std::unique_ptr<std::string> value = co_await make_move_only();
    co_return (value && *value == "moved") ? 0 : 1;
  });
  EXPECT_EQ(result, 0);
}

task<int> throws_after_io(std::string message) {
  co_await io::nop();
  co_await sleep_for(std::chrono::microseconds(10));
  throw std::runtime_error(message);
}

task<int> passes_through() {
  const int value = co_await throws_after_io("deep failure");
  co_return value + 1;  // never reached
}

TEST(Task, ExceptionsTravelAcrossAwaitsToTheAwaiter) {
  const int result = run_one_shard([]() -> task<int> {
    try {
      co_await passes_through();
    } catch (const std::runtime_error& error) {
      co_return std::string(error.what()) == "deep failure" ? 0 : 2;
    }
    co_return 1;
  });
  EXPECT_EQ(result, 0);
}

TEST(Task, ExceptionFromMainIsRethrownByRun) {
  EXPECT_THROW(run_one_shard([]() -> task<int> {
                 co_await io::nop();
                 throw std::logic_error("main failed");
               }),
               std::logic_error);
}

TEST(Task, DestroyingAnUnstartedTaskFreesItsFrame) {
  // Under ASan a leaked frame fails the run; here we only need the frame to be created and dropped.
  const int result = run_one_shard([]() -> task<int> {
    { task<long> never_started = chain(10); }
    co_return 0;
  });
  EXPECT_EQ(result, 0);
}

TEST(Spawn, DetachedTasksRunAndFreeThemselves) {
  const int result = run_one_shard([]() -> task<int> {
    int finished = 0;
    for (int i = 0; i < 1000; ++i) {
      spawn([](int& counter) -> task<void> {
        co_await io::nop();
        ++counter;
      }(finished));
    }
    while (finished < 1000) co_await yield();
    co_return finished == 1000 ? 0 : 1;
  });
  EXPECT_EQ(result, 0);
}

TEST(Run, RejectsBadConfiguration) {
  reactor_config config;
  config.shards = 0;
  EXPECT_THROW(run(config, []() -> task<int> { co_return 0; }), std::invalid_argument);
  config.shards = 1;
  config.ring_entries = 1000;  // not a power of two
  EXPECT_THROW(run(config, []() -> task<int> { co_return 0; }), std::invalid_argument);
}

TEST(Run, ReturnsMainsResultAndCanRunAgain) {
  EXPECT_EQ(run_one_shard([]() -> task<int> { co_return 7; }), 7);
  EXPECT_EQ(run_one_shard([]() -> task<int> { co_return 8; }), 8);
}

}  // namespace
}  // namespace ringkv::runtime
