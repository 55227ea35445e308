// tests/runtime/epoll_backend_test.cc - the epoll backend's own cases: how it is chosen (config,
// RINGKV_IO_BACKEND, the automatic fallback when a seccomp filter refuses io_uring_setup), cancellation
// (a waiting recv, a disk job still queued vs one already running), partial socket writes, a fd number
// closed and reused while its old registration was armed, many connections through the multishot accept,
// and more concurrent O_DIRECT writes than the disk pool's queue holds. The whole runtime suite also runs
// on this backend (suite runtime-epoll); these are the cases only it has.
#include "runtime/epoll_backend.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "runtime/acceptor.h"
#include "runtime/aligned_buffer.h"
#include "runtime/cancel.h"
#include "runtime/io.h"
#include "runtime/log.h"
#include "runtime/reactor.h"
#include "runtime/smp.h"
#include "runtime/timer.h"
#include "runtime/when_all.h"
#include "tests/runtime/io_uring_refusal.h"
#include "tests/runtime/runtime_test_support.h"

namespace ringkv::runtime {
namespace {

using namespace std::chrono_literals;
using testing::loopback_listener;
using testing::refuse_io_uring_setup;
using testing::temp_dir;

int run_on_epoll(std::function<task<int>()> main, unsigned shards = 1, unsigned ring_entries = 4096) {
  reactor_config config;
  config.shards = shards;
  config.handle_signals = false;
  config.backend = io_backend::epoll;
  config.ring_entries = ring_entries;
  return run(config, std::move(main));
}

// Sets RINGKV_IO_BACKEND for one test and restores what was there (the suite may run with it set).
class backend_env {
 public:
  explicit backend_env(const char* value) {
    if (const char* old = ::getenv(io_backend_env)) saved_ = old;
    if (value != nullptr) ::setenv(io_backend_env, value, 1);
    else ::unsetenv(io_backend_env);
  }
  ~backend_env() {
    if (saved_) ::setenv(io_backend_env, saved_->c_str(), 1);
    else ::unsetenv(io_backend_env);
  }

 private:
  std::optional<std::string> saved_;
};

int run_automatic(unsigned shards = 1) {
  reactor_config config;
  config.shards = shards;
  config.handle_signals = false;
  return run(config, []() -> task<int> { co_return static_cast<int>(active_io_backend()); });
}

struct socket_pair {
  int fds[2] = {-1, -1};
  socket_pair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0); }
  ~socket_pair() { close(); }
  void close() {
    for (int& fd : fds) {
      if (fd >= 0) ::close(fd);
      fd = -1;
    }
  }
};

// ---- choosing the backend ----

TEST(EpollBackend, ChosenByTheConfig) {
  EXPECT_EQ(run_on_epoll([]() -> task<int> { co_return static_cast<int>(active_io_backend()); }, 2),
            static_cast<int>(io_backend::epoll));
}

TEST(EpollBackend, EnvironmentChoosesWhenTheConfigIsAutomatic) {
  {
    backend_env env("epoll");
    EXPECT_EQ(run_automatic(2), static_cast<int>(io_backend::epoll));
  }
  {
    backend_env env("uring");
    EXPECT_EQ(run_automatic(), static_cast<int>(io_backend::uring));
  }
  {
    backend_env env(nullptr);
    EXPECT_EQ(run_automatic(), static_cast<int>(io_backend::uring));  // io_uring works on this machine
  }
  {
    backend_env env("kqueue");
    EXPECT_THROW(run_automatic(), std::invalid_argument);
  }
  {
    backend_env env("epoll");  // an explicit config wins over the environment
    reactor_config config;
    config.handle_signals = false;
    config.backend = io_backend::uring;
    EXPECT_EQ(run(config, []() -> task<int> { co_return static_cast<int>(active_io_backend()); }),
              static_cast<int>(io_backend::uring));
  }
}

TEST(EpollBackend, NamesParseBothWays) {
  for (io_backend backend : {io_backend::automatic, io_backend::uring, io_backend::epoll}) {
    EXPECT_EQ(parse_io_backend(to_string(backend)), backend);
  }
  EXPECT_FALSE(parse_io_backend("EPOLL").has_value());
}

constexpr int fell_back = 42;

// In a child: io_uring_setup refused by seccomp, the automatic choice runs on epoll and really does I/O
// (a file written and read back through the disk pool, on both shards).
[[noreturn]] void run_with_io_uring_refused(int error) {
  if (!refuse_io_uring_setup(error)) ::_exit(2);
  ::unsetenv(io_backend_env);
  log::set_level(log::log_level::debug);  // the "runtime started" line is debug
  reactor_config config;
  config.handle_signals = false;
  config.shards = 2;
  const std::string path = "/tmp/ringkv_epoll_fallback_" + std::to_string(::getpid());
  try {
    const int rc = run(config, [&path]() -> task<int> {
      if (active_io_backend() != io_backend::epoll) co_return 1;
      const int fd = co_await io::openat(AT_FDCWD, path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
      if (fd < 0) co_return 2;
      char back[5] = {};
      const bool ok = co_await io::write_at(fd, "fall", 4, 0) == 4 && co_await io::fdatasync(fd) == 0 &&
                      co_await io::read_at(fd, back, 4, 0) == 4 && std::strcmp(back, "fall") == 0;
      co_await io::close(fd);
      co_await io::unlink(path.c_str());
      const int other = co_await submit_to(1, []() -> task<int> {
        co_return active_io_backend() == io_backend::epoll ? 0 : 1;
      });
      co_return ok && other == 0 ? 0 : 3;
    });
    ::_exit(rc == 0 ? fell_back : 10 + rc);
  } catch (const std::exception& failure) {
    std::fprintf(stderr, "%s\n", failure.what());
    ::_exit(1);
  }
}

TEST(EpollBackendDeathTest, SeccompEnosysFallsBackToEpoll) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(run_with_io_uring_refused(ENOSYS), ::testing::ExitedWithCode(fell_back),
              "io_uring unavailable, using the epoll backend.*Function not implemented.*"
              "\"io-backend\":\"epoll\"");
}

TEST(EpollBackendDeathTest, SeccompEpermFallsBackToEpoll) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(run_with_io_uring_refused(EPERM), ::testing::ExitedWithCode(fell_back),
              "io_uring unavailable, using the epoll backend.*Operation not permitted.*"
              "\"io-backend\":\"epoll\"");
}

// ---- cancellation ----

TEST(EpollBackend, CancelledRecvCompletesOnceWithEcanceledAndTheSocketStaysUsable) {
  socket_pair pair;
  const int result = run_on_epoll([&]() -> task<int> {
    cancel_source source;
    int out = 1;
    int resumed = 0;
    task_group group;
    group.spawn([](int fd, cancel_token* token, int& out, int& resumed) -> task<void> {
      char buf[8];
      out = co_await io::recv(fd, buf, sizeof buf, token);
      ++resumed;
    }(pair.fds[0], source.token(), out, resumed));
    co_await sleep_for(5ms);  // the recv waits in epoll
    source.cancel();
    source.cancel();
    co_await group.wait();
    if (out != -ECANCELED || resumed != 1) co_return 1;
    if (::write(pair.fds[1], "late", 4) != 4) co_return 2;
    char buf[8];
    co_return co_await io::recv(pair.fds[0], buf, sizeof buf) == 4 ? 0 : 3;
  });
  EXPECT_EQ(result, 0);
}

// Two openat calls on a FIFO block in both pool threads; a third waits in the pool's queue. Cancelling
// all three ends only the queued one (-ECANCELED); the running ones finish with their real result once
// a writer opens the FIFO - as io_uring does for blocking file calls already running.
TEST(EpollBackend, CancelEndsQueuedDiskJobsAndLetsRunningOnesFinish) {
  temp_dir dir;
  ASSERT_TRUE(dir.ok());
  const std::string fifo = dir.file("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  static_assert(detail::disk_pool::threads_count == 2);
  const int result = run_on_epoll([&]() -> task<int> {
    cancel_source source;
    int results[3] = {0, 0, 0};
    task_group group;
    for (int& out : results) {
      group.spawn([](const char* path, cancel_token* token, int& out) -> task<void> {
        out = co_await io::openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0, token);
      }(fifo.c_str(), source.token(), out));
    }
    co_await sleep_for(200ms);  // two workers are inside open(2), the third job waits (generous: ASan, load)
    source.cancel();
    co_await sleep_for(20ms);
    const int writer = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);  // releases the readers
    co_await group.wait();
    if (writer >= 0) ::close(writer);
    int opened = 0;
    int cancelled = 0;
    for (int out : results) {
      if (out >= 0) {
        ++opened;
        ::close(out);
      } else if (out == -ECANCELED) {
        ++cancelled;
      }
    }
    co_return writer >= 0 && opened == 2 && cancelled == 1 ? 0 : 1;
  });
  EXPECT_EQ(result, 0);
}

// ---- sockets ----

TEST(EpollBackend, SendReturnsPartialCountsAndEveryByteArrivesInOrder) {
  socket_pair pair;
  const int small = 4096;
  ASSERT_EQ(::setsockopt(pair.fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
  std::vector<unsigned char> out(1 << 20);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<unsigned char>(i * 131 + 7);
  std::vector<unsigned char> in(out.size());
  const int result = run_on_epoll([&]() -> task<int> {
    int partial_sends = 0;
    int send_error = 0;
    auto sender = [&]() -> task<void> {
      std::size_t sent = 0;
      while (sent < out.size()) {
        const int rc = co_await io::send(pair.fds[0], out.data() + sent, out.size() - sent);
        if (rc <= 0) {
          send_error = rc == 0 ? -EIO : rc;
          co_return;
        }
        if (static_cast<std::size_t>(rc) < out.size() - sent) ++partial_sends;
        sent += static_cast<std::size_t>(rc);
      }
    };
    auto receiver = [&]() -> task<void> {
      std::size_t got = 0;
      while (got < in.size()) {
        const int rc = co_await io::recv(pair.fds[1], in.data() + got, in.size() - got);
        if (rc <= 0) co_return;
        got += static_cast<std::size_t>(rc);
      }
    };
    co_await when_all(sender(), receiver());
    co_return send_error == 0 && partial_sends > 0 && in == out ? 0 : 1;
  });
  EXPECT_EQ(result, 0);
}

// A recv on fd N is cancelled while its one-shot registration is armed; N is closed and the number is
// reused by a new socket: a recv on the new socket must still be woken.
TEST(EpollBackend, AReusedFdNumberIsRegisteredAfresh) {
  const int result = run_on_epoll([&]() -> task<int> {
    socket_pair first;
    const int reused_number = first.fds[0];
    const int timed_out = co_await with_timeout(5ms, [&](cancel_token* token) {
      static char buf[4];
      return io::recv(first.fds[0], buf, sizeof buf, token);
    });
    if (timed_out != -ETIMEDOUT) co_return 1;
    first.close();
    socket_pair second;
    if (second.fds[0] != reused_number && second.fds[1] != reused_number) co_return 2;
    const int reader = second.fds[0] == reused_number ? second.fds[0] : second.fds[1];
    const int writer = reader == second.fds[0] ? second.fds[1] : second.fds[0];
    std::thread late_writer([writer] {
      std::this_thread::sleep_for(10ms);
      [[maybe_unused]] ssize_t written = ::write(writer, "ok", 2);
    });
    char buf[4];
    const int got = co_await with_timeout(2s, [&](cancel_token* token) {
      return io::recv(reader, buf, sizeof buf, token);
    });
    late_writer.join();
    co_return got == 2 ? 0 : 3;
  });
  EXPECT_EQ(result, 0);
}

TEST(EpollBackend, ManyConnectionsThroughTheMultishotAcceptEchoAtOnce) {
  constexpr int connections = 400;
  loopback_listener listener(1024);
  const int result = run_on_epoll([&]() -> task<int> {
    acceptor accepting(listener.fd, 16);  // small ready limit: pauses and re-arms many times
    int echoed = 0;
    int failures = 0;
    task_group servers;
    task_group clients;
    for (int i = 0; i < connections; ++i) {
      clients.spawn([](const sockaddr_in& addr, int i, int& echoed, int& failures) -> task<void> {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        char message[32];
        const int length = std::snprintf(message, sizeof message, "client %d", i);
        char back[32] = {};
        const bool ok = co_await io::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0 &&
                        co_await io::send(fd, message, static_cast<std::size_t>(length)) == length &&
                        co_await io::recv(fd, back, sizeof back) == length &&
                        std::memcmp(back, message, static_cast<std::size_t>(length)) == 0;
        co_await io::close(fd);
        ++(ok ? echoed : failures);
      }(listener.addr, i, echoed, failures));
    }
    for (int i = 0; i < connections; ++i) {
      const int fd = co_await accepting.accept();
      if (fd < 0) co_return 1;
      servers.spawn([](int fd) -> task<void> {
        char buf[32];
        const int got = co_await io::recv(fd, buf, sizeof buf);
        if (got > 0) co_await io::send(fd, buf, static_cast<std::size_t>(got));
        co_await io::close(fd);
      }(fd));
    }
    co_await clients.wait();
    co_await servers.wait();
    co_await accepting.close();
    co_return echoed == connections && failures == 0 ? 0 : 2;
  });
  EXPECT_EQ(result, 0);
}

TEST(EpollBackend, ConnectToAClosedPortIsRefused) {
  sockaddr_in addr{};
  {
    loopback_listener gone;
    addr = gone.addr;
  }
  const int result = run_on_epoll([&]() -> task<int> {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int rc = co_await io::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    ::close(fd);
    co_return rc == -ECONNREFUSED ? 0 : 1;
  });
  EXPECT_EQ(result, 0);
}

// ---- disk ----

constexpr std::size_t disk_block = 4096;

// 64 O_DIRECT RWF_DSYNC writes at once with ring_entries 8: the pool's queue holds 8, the rest wait in
// the backend's backlog; every block lands where it should.
TEST(EpollBackend, MoreDiskWritesThanThePoolQueueHoldsAllComplete) {
  temp_dir dir;
  ASSERT_TRUE(dir.ok());
  const std::string path = dir.file("blocks");
  constexpr int blocks = 64;
  constexpr std::size_t block = disk_block;
  const int result = run_on_epoll(
      [&]() -> task<int> {
        const int fd = co_await io::openat(AT_FDCWD, path.c_str(), O_CREAT | O_RDWR | O_DIRECT | O_CLOEXEC, 0600);
        if (fd < 0) co_return 1;
        if (co_await io::fallocate(fd, 0, 0, blocks * block) != 0) co_return 2;
        aligned_buffer data(blocks * block);
        for (int i = 0; i < blocks; ++i) std::memset(data.data() + i * block, 'a' + i % 26, block);
        int written = 0;
        task_group writers;
        for (int i = 0; i < blocks; ++i) {
          writers.spawn([](int fd, const std::byte* from, std::uint64_t offset, int& written) -> task<void> {
            const int rc = co_await io::write_at_dsync(fd, from, disk_block, offset);
            if (rc == static_cast<int>(disk_block)) ++written;
          }(fd, data.data() + i * block, i * block, written));
        }
        co_await writers.wait();
        if (written != blocks || co_await io::fdatasync(fd) != 0) co_return 3;
        aligned_buffer back(blocks * block);
        if (co_await io::read_at(fd, back.data(), blocks * block, 0) != static_cast<int>(blocks * block)) co_return 4;
        co_await io::close(fd);
        co_return std::memcmp(back.data(), data.data(), blocks * block) == 0 ? 0 : 5;
      },
      1, 8);
  EXPECT_EQ(result, 0);
}

}  // namespace
}  // namespace ringkv::runtime
