// tests/runtime/shutdown_test.cc - stopping: SIGINT/SIGTERM request stop through the ring's signalfd,
// request_stop() wakes wait_for_stop() on every shard, and a runtime shut down while busy (tasks parked
// in recv, accept, sleeps, task groups, cross-shard calls, loops that ignore errors) returns promptly and
// destroys every frame it still held (the live-object count returns to zero; the ASan pass checks leaks).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "runtime/io.h"
#include "runtime/reactor.h"
#include "runtime/smp.h"
#include "runtime/spawn.h"
#include "runtime/timer.h"
#include "runtime/when_all.h"
#include "tests/runtime/runtime_test_support.h"

namespace ringkv::runtime {
namespace {

using namespace std::chrono_literals;

std::atomic<int> live_frames{0};

// Lives in a frame: counts frames that have not been destroyed.
struct frame_marker {
  frame_marker() { live_frames.fetch_add(1); }
  ~frame_marker() { live_frames.fetch_sub(1); }
  frame_marker(const frame_marker&) = delete;
  frame_marker& operator=(const frame_marker&) = delete;
};

int signal_run(int signal_number) {
  reactor_config config;
  config.handle_signals = true;
  return run(config, [signal_number]() -> task<int> {
    if (stop_requested()) co_return 1;
    co_await sleep_for(2ms);
    ::kill(::getpid(), signal_number);  // blocked in every thread: only the signalfd sees it
    co_await wait_for_stop();
    co_return stop_requested() ? 0 : 2;
  });
}

TEST(Shutdown, SigtermRequestsStop) { EXPECT_EQ(signal_run(SIGTERM), 0); }

TEST(Shutdown, SigintRequestsStop) { EXPECT_EQ(signal_run(SIGINT), 0); }

TEST(Shutdown, RequestStopWakesWaitersOnEveryShard) {
  const int result = testing::run_on_shards(3, []() -> task<int> {
    std::vector<task<unsigned>> waiters;
    for (unsigned shard = 0; shard < shard_count(); ++shard) {
      waiters.push_back(submit_to(shard, []() -> task<unsigned> {
        co_await wait_for_stop();
        co_return 1;
      }));
    }
    task_group stopper;
    stopper.spawn([]() -> task<void> {
      co_await sleep_for(5ms);
      request_stop();
    }());
    const std::vector<unsigned> woke = co_await when_all(std::move(waiters));
    co_await stopper.wait();
    unsigned total = 0;
    for (unsigned w : woke) total += w;
    co_return total == 3 ? 0 : 1;
  });
  EXPECT_EQ(result, 0);
}

TEST(Shutdown, RequestStopFromAnotherThreadIsSafeWhileRunsStartAndEnd) {
  std::atomic<bool> done{false};
  std::thread stopper([&done] {
    while (!done.load()) request_stop();
  });
  int stopped_runs = 0;
  for (int round = 0; round < 20; ++round) {
    stopped_runs += testing::run_on_shards(2, []() -> task<int> {
      co_await wait_for_stop();
      co_return 1;
    });
  }
  done.store(true);
  stopper.join();
  EXPECT_EQ(stopped_runs, 20);
}

task<void> parked_in_recv(int fd) {
  frame_marker alive;
  char buf[64];
  for (;;) {  // ignores errors on purpose: shutdown must still end it
    if (co_await io::recv(fd, buf, sizeof buf) == 0) co_return;
  }
}

task<void> parked_in_accept(int fd) {
  frame_marker alive;
  co_await io::accept(fd);
  co_await sleep_for(1h);
}

task<void> owns_a_group() {
  frame_marker alive;
  task_group group;
  for (int i = 0; i < 4; ++i) {
    group.spawn([]() -> task<void> {
      frame_marker member_alive;
      co_await sleep_for(1h);
      co_await sleep_for(1h);  // ignores the cancellation of the first
    }());
  }
  co_await group.wait();
}

task<void> waits_on_another_shard(unsigned other) {
  frame_marker alive;
  co_await submit_to(other, []() -> task<int> {
    frame_marker remote_alive;
    for (;;) co_await yield();  // never finishes: destroyed at the end of the drain timeout
  });
}

TEST(Shutdown, ShutdownWhileBusyReturnsAndDestroysEveryFrame) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  const int listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listen_fd, 16), 0);

  reactor_config config;
  config.shards = 2;
  config.handle_signals = false;
  config.shutdown_drain_timeout = 200ms;
  const auto start = std::chrono::steady_clock::now();
  const int result = run(config, [&]() -> task<int> {
    for (int i = 0; i < 8; ++i) spawn(parked_in_recv(pair[0]));
    spawn(parked_in_accept(listen_fd));
    spawn(owns_a_group());
    spawn(waits_on_another_shard(1));
    co_await submit_to(1, [&] {
      spawn(parked_in_recv(pair[0]));
      spawn(owns_a_group());
      spawn(waits_on_another_shard(0));
    });
    co_await sleep_for(10ms);  // everything is parked now
    co_return live_frames.load() > 0 ? 0 : 1;
  });
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(result, 0);
  EXPECT_EQ(live_frames.load(), 0);
  EXPECT_LT(took, 5s);
  ::close(pair[0]);
  ::close(pair[1]);
  ::close(listen_fd);
}

TEST(Shutdown, WorkThatFinishesDuringTheDrainIsNotCutShort) {
  int finished = 0;
  reactor_config config;
  config.handle_signals = false;
  const int result = run(config, [&]() -> task<int> {
    spawn([](int& done) -> task<void> {
      // Sees -ECANCELED from its sleep at shutdown, then finishes its own cleanup.
      const int rc = co_await sleep_for(1h);
      if (rc == -ECANCELED) ++done;
    }(finished));
    co_await yield();
    co_return 0;
  });
  EXPECT_EQ(result, 0);
  EXPECT_EQ(finished, 1);
}

}  // namespace
}  // namespace ringkv::runtime
