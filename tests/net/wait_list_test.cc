// tests/net/wait_list_test.cc - wait_list: waiters resume in arrival order, re-parking waits for the next
// wake_all(), and a list may be destroyed with parked waiters while the runtime tears down leftover frames.
#include "net/tcp/wait_list.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "runtime/reactor.h"
#include "runtime/spawn.h"
#include "runtime/task.h"
#include "runtime/timer.h"

namespace ringkv::net {
namespace {

using namespace std::chrono_literals;

int run_one_shard(std::chrono::milliseconds drain_timeout, std::function<runtime::task<int>()> main) {
  runtime::reactor_config config;
  config.handle_signals = false;
  config.shutdown_drain_timeout = drain_timeout;
  return runtime::run(config, std::move(main));
}

runtime::task<void> park_and_record(wait_list& list, std::vector<int>& order, int id, int parks) {
  for (int i = 0; i < parks; ++i) {
    co_await list.wait();
    order.push_back(id);
  }
}

TEST(WaitList, WakeAllResumesInArrivalOrderAndReparkedWaitersWaitForTheNextWake) {
  const int result = run_one_shard(2000ms, []() -> runtime::task<int> {
    wait_list list;
    std::vector<int> order;
    runtime::task<void> first = park_and_record(list, order, 1, 2);
    runtime::task<void> second = park_and_record(list, order, 2, 1);
    runtime::task<void> third = park_and_record(list, order, 3, 2);
    // A detached wrapper awaits them one after another, so only one of them is parked at a time.
    runtime::spawn([](runtime::task<void> a, runtime::task<void> b, runtime::task<void> c) -> runtime::task<void> {
      co_await a;
      co_await b;
      co_await c;
    }(std::move(first), std::move(second), std::move(third)));
    runtime::spawn(park_and_record(list, order, 4, 1));
    co_await runtime::yield();
    co_await runtime::yield();
    // Parked now: 1 (awaited first by the wrapper) and 4.
    list.wake_all();  // 1 records and re-parks; wrapper is still inside 1; 4 records and ends
    if (order != std::vector<int>{1, 4}) co_return 1;
    list.wake_all();  // 1 ends; the wrapper goes on to 2, which parks again within this call
    if (order != std::vector<int>{1, 4, 1}) co_return 2;
    if (list.empty()) co_return 3;
    list.wake_all();  // 2 ends; 3 parks
    list.wake_all();  // 3 records once, re-parks
    list.wake_all();  // 3 ends
    if (order != (std::vector<int>{1, 4, 1, 2, 3, 3})) co_return 4;
    co_return list.empty() ? 0 : 5;
  });
  EXPECT_EQ(result, 0);
}

// Owns a wait_list and parks on it forever: destroyed (with itself still parked) at the end of shutdown.
runtime::task<void> parked_on_own_list(int& started) {
  wait_list list;
  ++started;
  co_await list.wait();
}

runtime::task<void> parked_on(wait_list& list, int& started) {
  ++started;
  co_await list.wait();
}

// Owns a list that another frame parks on; never woken.
runtime::task<void> owns_list_others_wait_on(int& started) {
  wait_list list;
  runtime::spawn(parked_on(list, started));
  ++started;
  wait_list never;
  co_await never.wait();
}

TEST(WaitList, ListsWithParkedWaitersAreDestroyedAtRuntimeTeardownWithoutAsserting) {
  int started = 0;
  const int result = run_one_shard(50ms, [&]() -> runtime::task<int> {
    runtime::spawn(parked_on_own_list(started));
    runtime::spawn(owns_list_others_wait_on(started));
    co_await runtime::yield();
    co_await runtime::yield();
    co_return started == 3 ? 0 : 1;  // all parked; the teardown destroys them after the drain timeout
  });
  EXPECT_EQ(result, 0);
}

}  // namespace
}  // namespace ringkv::net
