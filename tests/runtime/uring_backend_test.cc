// tests/runtime/uring_backend_test.cc - the kernel probe: when io_uring_setup is refused (as a container's
// default seccomp profile does, with ENOSYS or EPERM), run() fails with a setup_error that says what
// happened and what to do, instead of crashing. Each case runs in a child process with a seccomp filter.
#include "runtime/uring_backend.h"

#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>

#include "runtime/reactor.h"

namespace ringkv::runtime {
namespace {

// Makes io_uring_setup fail with `error` in this process (and nothing else).
bool refuse_io_uring_setup(int error) {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (static_cast<unsigned>(error) & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog program{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
  return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) == 0;
}

constexpr int reported_clearly = 42;

[[noreturn]] void run_with_io_uring_refused(int error) {
  if (!refuse_io_uring_setup(error)) ::_exit(2);
  reactor_config config;
  config.handle_signals = false;
  config.shards = 2;
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
