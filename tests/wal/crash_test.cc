// Crash consistency: a child process (wal_crash_helper) appends and reports every acknowledged entry
// over a pipe; it is SIGKILLed at a random moment; on reopen every acknowledged entry (above the latest
// snapshot marker) must be present with its payload. Repeated for WAL_CRASH_ROUNDS rounds (default 100)
// on the same directory, so each round also recovers from the previous round's crash.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <set>

#include "tests/wal/wal_test_support.h"

namespace ringkv::storage::wal {
namespace {

using testing::crash_config;
using testing::crash_payload;
using testing::run_on_runtime;
using testing::temp_dir;

unsigned env_unsigned(const char* name, unsigned fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? static_cast<unsigned>(std::strtoul(v, nullptr, 10)) : fallback;
}

// Runs the helper, kills it `run_for` after its first acknowledgement (or after it started, when
// `from_start`: then the kill may land during recovery), and returns every index it acknowledged.
std::vector<uint64_t> run_child_and_kill(const std::string& helper, const std::string& dir,
                                         std::chrono::microseconds run_for, bool from_start) {
  int fds[2];
  EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::execl(helper.c_str(), helper.c_str(), dir.c_str(), static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  ::close(fds[1]);
  std::vector<uint64_t> acked;
  std::vector<char> pending;
  auto drain = [&](int timeout_ms) {
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return false;
    char buf[65536];
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) return false;
    pending.insert(pending.end(), buf, buf + n);
    size_t whole = pending.size() / 8 * 8;
    for (size_t i = 0; i < whole; i += 8) {
      uint64_t index;
      std::memcpy(&index, pending.data() + i, 8);
      acked.push_back(index);
    }
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(whole));
    return true;
  };
  constexpr auto startup_limit = std::chrono::seconds(10);
  const auto started = std::chrono::steady_clock::now();
  while (!from_start && acked.empty() && std::chrono::steady_clock::now() - started < startup_limit) drain(1);
  const auto deadline = std::chrono::steady_clock::now() + run_for;
  while (std::chrono::steady_clock::now() < deadline) drain(1);
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  while (drain(0)) {
  }
  ::close(fds[0]);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "helper exited by itself (status " << status << "): see its stderr";
  return acked;
}

void crash_rounds(unsigned rounds) {
  const char* helper = std::getenv("WAL_CRASH_HELPER");
  ASSERT_NE(helper, nullptr) << "WAL_CRASH_HELPER must name the wal_crash_helper binary";
  temp_dir dir;
  std::mt19937 rng(env_unsigned("WAL_CRASH_SEED", 12345));
  uint64_t acked_max = 0;
  uint64_t acked_total = 0;
  for (unsigned round = 0; round < rounds; ++round) {
    const bool from_start = round % 5 == 0;  // every fifth kill may hit opening/recovery
    const std::chrono::microseconds run_for(rng() % (from_start ? 40'000 : 50'000));
    const auto acked = run_child_and_kill(helper, dir.path(), run_for, from_start);
    acked_total += acked.size();
    for (uint64_t a : acked) acked_max = std::max(acked_max, a);

    recovered_state recovered;
    run_on_runtime([&]() -> runtime::task<void> {
      auto opened = co_await write_ahead_log::open(crash_config(dir.path()));
      recovered = std::move(opened.recovered);
      co_await opened.log->close();
    });
    const uint64_t snapshot = recovered.snapshot.index;
    auto entries = entries_after(std::move(recovered.entries), snapshot);
    // Every entry acknowledged in this or any earlier round, above the snapshot, is there intact.
    const uint64_t last = entries.empty() ? snapshot : entries.back().index;
    ASSERT_GE(last, acked_max) << "round " << round << ": acknowledged entry lost (seed "
                               << env_unsigned("WAL_CRASH_SEED", 12345) << ")";
    for (const entry& e : entries) {
      ASSERT_EQ(e.payload, crash_payload(e.index)) << "round " << round << " index " << e.index;
    }
    // Hard state goes with each append: the newest durable one covers the newest acknowledged entry.
    ASSERT_GE(recovered.state.commit, acked_max);
    ASSERT_LE(recovered.state.commit, last);
  }
  std::printf("%u rounds: %llu acknowledged entries, highest index %llu\n", rounds,
              static_cast<unsigned long long>(acked_total), static_cast<unsigned long long>(acked_max));
  EXPECT_GT(acked_total, rounds * 10ull) << "the helper acknowledged almost nothing: test is not testing";
}

TEST(WalCrash, EveryAcknowledgedEntrySurvivesSigkill) { crash_rounds(env_unsigned("WAL_CRASH_ROUNDS", 100)); }

}  // namespace
}  // namespace ringkv::storage::wal
