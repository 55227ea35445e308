// tests/runtime/notifier_test.cc - notifier: the waiter is resumed through the ready queue (the
// notifier's caller continues first), notifies coalesce, a raised flag lets co_await continue at once.
#include "runtime/notifier.h"

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

// Waits `rounds` times, logging each wake.
task<void> wait_rounds(notifier& n, log_lines& log, int rounds) {
  for (int i = 0; i < rounds; ++i) {
    log.push_back("parked");
    co_await n;
    log.push_back("woken");
  }
}

TEST(Notifier, WakesTheWaiterThroughTheReadyQueueNotInline) {
  log_lines log;
  run_one_shard([&]() -> task<int> {
    notifier n;
    spawn(wait_rounds(n, log, 1));
    co_await yield();  // the waiter runs and parks
    n.notify();
    log.push_back("notifier continues");
    co_await yield();
    co_return 0;
  });
  EXPECT_EQ(log, (log_lines{"parked", "notifier continues", "woken"}));
}

TEST(Notifier, NotifiesBeforeTheWaiterRunsCoalesceIntoOneWake) {
  log_lines log;
  bool parked_again = false;
  run_one_shard([&]() -> task<int> {
    notifier n;
    spawn(wait_rounds(n, log, 2));
    co_await yield();
    n.notify();
    n.notify();
    n.notify();
    co_await yield();
    co_await yield();
    parked_again = !n.signalled();
    n.notify();  // lets the waiter finish its second round
    co_await yield();
    co_return 0;
  });
  EXPECT_TRUE(parked_again);
  EXPECT_EQ(log, (log_lines{"parked", "woken", "parked", "woken"}));
}

task<void> set_flag(bool& flag) {
  flag = true;
  co_return;
}

TEST(Notifier, RaisedFlagLetsCoAwaitContinueAtOnceAndLowersIt) {
  bool other_ran = false;
  bool lowered = false;
  run_one_shard([&]() -> task<int> {
    notifier n;
    n.notify();
    spawn(set_flag(other_ran));  // would run first if co_await suspended
    co_await n;
    lowered = !n.signalled();
    EXPECT_FALSE(other_ran);
    co_await yield();
    co_return 0;
  });
  EXPECT_TRUE(lowered);
  EXPECT_TRUE(other_ran);
}

}  // namespace
}  // namespace ringkv::runtime
