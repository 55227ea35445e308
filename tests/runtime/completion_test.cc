// tests/runtime/completion_test.cc - completion<T>: set before or after the co_await, the waiter resumed
// through the ready queue (the producer continues first), move-only values.
#include "runtime/completion.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "runtime/spawn.h"
#include "runtime/timer.h"
#include "tests/runtime/runtime_test_support.h"

namespace ringkv::runtime {
namespace {

using testing::run_one_shard;
using log_lines = std::vector<std::string>;

task<void> produce(completion<int>* target, int value, log_lines& log) {
  log.push_back("producer sets");
  target->set(value);
  log.push_back("producer continues");  // `target` is not touched again
  co_return;
}

TEST(Completion, SetAfterTheAwaitResumesTheWaiterAfterTheProducerContinued) {
  log_lines log;
  int received = 0;
  run_one_shard([&]() -> task<int> {
    completion<int> done;
    spawn(produce(&done, 42, log));
    log.push_back("waiter parks");
    received = co_await done;
    log.push_back("waiter resumed");
    co_return 0;
  });
  EXPECT_EQ(received, 42);
  EXPECT_EQ(log, (log_lines{"waiter parks", "producer sets", "producer continues", "waiter resumed"}));
}

task<void> set_flag(bool& flag) {
  flag = true;
  co_return;
}

TEST(Completion, SetBeforeTheAwaitContinuesAtOnce) {
  bool other_ran = false;
  int received = 0;
  run_one_shard([&]() -> task<int> {
    completion<int> done;
    done.set(7);
    EXPECT_TRUE(done.done());
    spawn(set_flag(other_ran));  // would run first if co_await suspended
    received = co_await done;
    EXPECT_FALSE(other_ran);
    co_await yield();
    co_return 0;
  });
  EXPECT_EQ(received, 7);
  EXPECT_TRUE(other_ran);
}

task<void> produce_later(completion<std::unique_ptr<std::string>>* target) {
  co_await sleep_for(std::chrono::milliseconds(1));
  target->set(std::make_unique<std::string>("moved"));
}

TEST(Completion, CarriesMoveOnlyValues) {
  std::string received;
  run_one_shard([&]() -> task<int> {
    completion<std::unique_ptr<std::string>> done;
    EXPECT_FALSE(done.done());
    spawn(produce_later(&done));
    std::unique_ptr<std::string> value = co_await done;
    if (value) received = *value;
    co_return 0;
  });
  EXPECT_EQ(received, "moved");
}

}  // namespace
}  // namespace ringkv::runtime
