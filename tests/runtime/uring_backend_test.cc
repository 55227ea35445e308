// tests/runtime/uring_backend_test.cc - the kernel probe: when io_uring_setup is refused (as a container's
// default seccomp profile does, with ENOSYS or EPERM) and io_uring was asked for explicitly, run() fails
// with a setup_error that says what happened and what to do, instead of crashing (the automatic choice
// falls back to epoll instead: epoll_backend_test). Each case runs in a child process with a seccomp filter.
#include "runtime/uring_backend.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "runtime/reactor.h"
#include "tests/runtime/io_uring_refusal.h"

namespace ringkv::runtime {
namespace {

using testing::refuse_io_uring_setup;

constexpr int reported_clearly = 42;

[[noreturn]] void run_with_io_uring_refused(int error) {
  if (!refuse_io_uring_setup(error)) ::_exit(2);
  reactor_config config;
  config.handle_signals = false;
  config.shards = 2;
  config.backend = io_backend::uring;  // no fallback
  try {
    run(config, []() -> task<int> { co_return 0; });
  } catch (const setup_error& failure) {
    std::fprintf(stderr, "%s\n", failure.what());
    ::_exit(reported_clearly);
  }
  ::_exit(1);
}

TEST(UringBackendDeathTest, SeccompEnosysGivesAClearSetupError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(run_with_io_uring_refused(ENOSYS), ::testing::ExitedWithCode(reported_clearly),
              "io_uring_setup failed: Function not implemented.*seccomp");
}

TEST(UringBackendDeathTest, SeccompEpermGivesAClearSetupError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(run_with_io_uring_refused(EPERM), ::testing::ExitedWithCode(reported_clearly),
              "io_uring_setup failed: Operation not permitted.*seccomp");
}

TEST(UringBackend, RunWorksWhenIoUringIsAllowed) {
  reactor_config config;
  config.handle_signals = false;
  EXPECT_EQ(run(config, []() -> task<int> { co_return 3; }), 3);
}

}  // namespace
}  // namespace ringkv::runtime
