// tests/runtime/acceptor_test.cc - multishot accept on loopback: one armed request serves many
// connections, pauses at its ready limit (backpressure) and resumes, honours cancellation, and close()
// ends it cleanly; a runtime shut down with an armed acceptor cancels it.
#include "runtime/acceptor.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <vector>

#include "runtime/io.h"
#include "runtime/spawn.h"
#include "runtime/timer.h"
#include "runtime/when_all.h"
#include "tests/runtime/runtime_test_support.h"

namespace ringkv::runtime {
namespace {

using namespace std::chrono_literals;
using testing::loopback_listener;
using testing::run_one_shard;

// Opens `count` client connections through the ring; returns their fds (negative entries are failures).
task<std::vector<int>> connect_clients(const sockaddr_in& addr, int count) {
  std::vector<int> fds;
  for (int i = 0; i < count; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int rc = co_await io::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    if (rc < 0) {
      ::close(fd);
      fds.push_back(rc);
    } else {
      fds.push_back(fd);
    }
  }
  co_return fds;
}

int close_all(const std::vector<int>& fds) {
  int failures = 0;
  for (int fd : fds) {
    if (fd < 0) ++failures;
    else ::close(fd);
  }
  return failures;
}

TEST(Acceptor, OneArmedRequestServesManyConnections) {
  loopback_listener listener;
  const int result = run_one_shard([&]() -> task<int> {
    acceptor incoming(listener.fd);
    constexpr int clients = 100;
    task<std::vector<int>> connecting = connect_clients(listener.addr, clients);
    std::vector<int> accepted;
    task_group group;
    group.spawn([](acceptor& a, std::vector<int>& out) -> task<void> {
      for (int i = 0; i < clients; ++i) out.push_back(co_await a.accept());
    }(incoming, accepted));
    const std::vector<int> client_fds = co_await connecting;
    co_await group.wait();
    const bool still_armed = incoming.armed();
    co_await incoming.close();
    int bad = close_all(client_fds) + close_all(accepted);
    co_return (bad == 0 && accepted.size() == clients && still_armed) ? 0 : 1;
  });
  EXPECT_EQ(result, 0);
}

TEST(Acceptor, PausesAtItsReadyLimitAndResumesWhenConnectionsAreTaken) {
  loopback_listener listener;
  const int result = run_one_shard([&]() -> task<int> {
    constexpr std::size_t ready_limit = 4;
    constexpr int clients = 12;
    acceptor incoming(listener.fd, ready_limit);
    // Arm it with a first connection (it waits in the listen backlog until accepted).
    const std::vector<int> first_client = co_await connect_clients(listener.addr, 1);
    const int first = co_await incoming.accept();
    if (first < 0 || close_all(first_client) != 0) co_return 1;
    ::close(first);
    const std::vector<int> client_fds = co_await connect_clients(listener.addr, clients);
    co_await sleep_for(20ms);
    // Held back: at most the limit (plus what raced the pause) sits in user space, the rest in the kernel.
    const bool paused = !incoming.armed() && incoming.ready() >= ready_limit && incoming.ready() < clients;
    std::vector<int> accepted;
    for (int i = 0; i < clients; ++i) accepted.push_back(co_await incoming.accept());
    co_await incoming.close();
    const int bad = close_all(client_fds) + close_all(accepted);
    co_return (paused && bad == 0) ? 0 : 2;
  });
  EXPECT_EQ(result, 0);
}

TEST(Acceptor, PendingAcceptIsCancelledByItsTokenAndByClose) {
  loopback_listener listener;
  const int result = run_one_shard([&]() -> task<int> {
    acceptor incoming(listener.fd);
    cancel_source source;
    int by_token = 0;
    int by_close = 0;
    task_group group;
    group.spawn([](acceptor& a, cancel_token* token, int& out) -> task<void> {
      out = co_await a.accept(token);
    }(incoming, source.token(), by_token));
    group.spawn([](acceptor& a, int& out) -> task<void> { out = co_await a.accept(); }(incoming, by_close));
    co_await sleep_for(5ms);
    source.cancel();
    co_await sleep_for(1ms);
    const bool second_still_waits = by_close == 0;
    co_await incoming.close();
    co_await group.wait();
    const int after_close = co_await incoming.accept();
    co_return (by_token == -ECANCELED && second_still_waits && by_close == -ECANCELED &&
               after_close == -ECANCELED)
                  ? 0
                  : 1;
  });
  EXPECT_EQ(result, 0);
}

TEST(Acceptor, ShutdownCancelsAnArmedAcceptor) {
  loopback_listener listener;
  int accept_result = 0;
  const int result = run_one_shard([&]() -> task<int> {
    spawn([](int fd, int& out) -> task<void> {
      acceptor incoming(fd);
      out = co_await incoming.accept();  // -ECANCELED when the runtime stops
      co_await incoming.close();
    }(listener.fd, accept_result));
    co_await sleep_for(2ms);
    co_return 0;
  });
  EXPECT_EQ(result, 0);
  EXPECT_EQ(accept_result, -ECANCELED);
}

}  // namespace
}  // namespace ringkv::runtime
