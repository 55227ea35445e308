// tests/runtime/cancel_test.cc - cancellation really cancels in-flight socket operations
// (IORING_OP_ASYNC_CANCEL): pending recv/accept resume with -ECANCELED, an op that completed first keeps
// its real result, a cancelled token ends later ops at once, and nothing is resumed twice.
#include "runtime/cancel.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "runtime/io.h"
#include "runtime/spawn.h"
#include "runtime/timer.h"
#include "runtime/when_all.h"
#include "tests/runtime/runtime_test_support.h"

namespace ringkv::runtime {
namespace {

using namespace std::chrono_literals;
using testing::run_one_shard;

// A connected pair of stream sockets (closed at the end of the test).
struct socket_pair {
  int fds[2] = {-1, -1};
  socket_pair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0); }
  ~socket_pair() {
    for (int fd : fds) ::close(fd);
  }
};

// A TCP listener on 127.0.0.1, any port.
struct loopback_listener {
  int fd = -1;
  loopback_listener() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd, 16), 0);
  }
  ~loopback_listener() { ::close(fd); }
};

TEST(Cancel, PendingRecvResumesWithEcanceled) {
  socket_pair pair;
  const int result = run_one_shard([&]() -> task<int> {
    cancel_source source;
    int recv_result = 1;
    int resumed = 0;
    task_group group;
    group.spawn([](int fd, cancel_token* token, int& out, int& resumed) -> task<void> {
      char buf[16];
      out = co_await io::recv(fd, buf, sizeof buf, token);
      ++resumed;
    }(pair.fds[0], source.token(), recv_result, resumed));
    co_await sleep_for(5ms);  // the recv is in the kernel now, with no data to come
    if (resumed != 0) co_return 1;
    source.cancel();
    co_await group.wait();
    co_return (recv_result == -ECANCELED && resumed == 1) ? 0 : 2;
  });
  EXPECT_EQ(result, 0);
}

TEST(Cancel, PendingAcceptResumesWithEcanceled) {
  loopback_listener listener;
  const int result = run_one_shard([&]() -> task<int> {
    cancel_source source;
    int accept_result = 1;
    task_group group;
    group.spawn([](int fd, cancel_token* token, int& out) -> task<void> {
      out = co_await io::accept(fd, token);
    }(listener.fd, source.token(), accept_result));
    co_await sleep_for(5ms);
    source.cancel();
    co_await group.wait();
    co_return accept_result == -ECANCELED ? 0 : 1;
  });
  EXPECT_EQ(result, 0);
}

TEST(Cancel, AnOperationThatCompletedFirstKeepsItsResult) {
  socket_pair pair;
  ASSERT_EQ(::write(pair.fds[1], "ready", 5), 5);
  const int result = run_one_shard([&]() -> task<int> {
    cancel_source source;
    int recv_result = 0;
    task_group group;
    group.spawn([](int fd, cancel_token* token, int& out) -> task<void> {
      char buf[16];
      out = co_await io::recv(fd, buf, sizeof buf, token);
    }(pair.fds[0], source.token(), recv_result));
    co_await sleep_for(2ms);  // data was there: the recv has completed (the token no longer holds it)
    source.cancel();
    co_await group.wait();
    co_return recv_result == 5 ? 0 : 1;
  });
  EXPECT_EQ(result, 0);
}

TEST(Cancel, CancelInTheSameTurnAsTheSubmitEitherCompletesOrCancelsExactlyOnce) {
  socket_pair pair;
  const int result = run_one_shard([&]() -> task<int> {
    int bad = 0;
    for (int round = 0; round < 200; ++round) {
      const bool with_data = round % 2 == 0;
      if (with_data && ::write(pair.fds[1], "x", 1) != 1) co_return 1;
      cancel_source source;
      int out = 0;
      int resumed = 0;
      task_group group;
      group.spawn([](int fd, cancel_token* token, int& out, int& resumed) -> task<void> {
        char byte;
        out = co_await io::recv(fd, &byte, 1, token);
        ++resumed;
      }(pair.fds[0], source.token(), out, resumed));
      co_await yield();   // the member starts and queues its recv
      source.cancel();    // the cancel SQE follows it in the same submit
      co_await group.wait();
      if (resumed != 1) ++bad;
      if (!(out == -ECANCELED || (with_data && out == 1))) ++bad;
      if (with_data && out == -ECANCELED) {  // cancelled before reading: drain the byte
        char byte;
        if (::recv(pair.fds[0], &byte, 1, MSG_DONTWAIT) != 1) ++bad;
      }
    }
    co_return bad;
  });
  EXPECT_EQ(result, 0);
}

TEST(Cancel, OperationsStartedWithACancelledTokenEndAtOnce) {
  socket_pair pair;
  const int result = run_one_shard([&]() -> task<int> {
    cancel_source source;
    source.cancel();
    char buf[4];
    const int recv_result = co_await io::recv(pair.fds[0], buf, sizeof buf, source.token());
    const int sleep_result = co_await sleep_for(10s, source.token());
    co_return (recv_result == -ECANCELED && sleep_result == -ECANCELED) ? 0 : 1;
  });
  EXPECT_EQ(result, 0);
}

TEST(Cancel, OneTokenCancelsManyOperations) {
  socket_pair pair;
  loopback_listener listener;
  const int result = run_one_shard([&]() -> task<int> {
    cancel_source source;
    int cancelled = 0;
    task_group group;
    auto count_cancelled = [](int& counter, int rc) {
      if (rc == -ECANCELED) ++counter;
    };
    for (int i = 0; i < 10; ++i) {
      group.spawn([](int fd, cancel_token* token, int& counter, auto count) -> task<void> {
        char buf[4];
        count(counter, co_await io::recv(fd, buf, sizeof buf, token));
      }(pair.fds[0], source.token(), cancelled, count_cancelled));
      group.spawn([](int fd, cancel_token* token, int& counter, auto count) -> task<void> {
        count(counter, co_await io::accept(fd, token));
      }(listener.fd, source.token(), cancelled, count_cancelled));
      group.spawn([](cancel_token* token, int& counter, auto count) -> task<void> {
        count(counter, co_await sleep_for(10s, token));
      }(source.token(), cancelled, count_cancelled));
    }
    co_await sleep_for(5ms);
    source.cancel();
    co_await group.wait();
    co_return cancelled == 30 ? 0 : 1;
  });
  EXPECT_EQ(result, 0);
}

TEST(Cancel, RecvWithTimeoutGivesEtimedoutAndTheSocketStaysUsable) {
  socket_pair pair;
  const int result = run_one_shard([&]() -> task<int> {
    char buf[8];
    const auto start = clock::now();
    const int timed_out = co_await with_timeout(10ms, [&](cancel_token* token) {
      return io::recv(pair.fds[0], buf, sizeof buf, token);
    });
    if (timed_out != -ETIMEDOUT || clock::now() - start < 10ms) co_return 1;
    if (::write(pair.fds[1], "late", 4) != 4) co_return 2;
    const int received = co_await with_timeout(1s, [&](cancel_token* token) {
      return io::recv(pair.fds[0], buf, sizeof buf, token);
    });
    co_return received == 4 ? 0 : 3;
  });
  EXPECT_EQ(result, 0);
}

}  // namespace
}  // namespace ringkv::runtime
