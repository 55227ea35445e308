// Child process of the crash-consistency test: opens (recovers) the WAL in argv[1], then appends entries
// from 32 concurrent appenders forever, writing each entry's index (u64, native order) to stdout once
// its append is acknowledged as durable. Every 3000 entries it records a snapshot marker 1000 entries
// back and releases covered segments. The parent SIGKILLs it at a random moment.
#include <unistd.h>

#include <cstdio>

#include "runtime/when_all.h"
#include "tests/wal/wal_test_support.h"

namespace {

using namespace ringkv;
using storage::wal::write_ahead_log;

void report_ack(uint64_t index) {
  if (::write(STDOUT_FILENO, &index, sizeof index) != sizeof index) std::_Exit(3);  // parent gone
}

runtime::task<void> appender(write_ahead_log& log, uint64_t& next) {
  for (;;) {
    const uint64_t index = next++;
    const std::string payload = storage::wal::testing::crash_payload(index);
    const storage::wal::entry_view e{index, 1, 0, payload};
    co_await log.append(std::span(&e, 1), storage::wal::hard_state{1, 0, index});
    report_ack(index);
    if (index % 3000 == 0) {
      co_await log.append_snapshot_marker({index - 1000, 1});
      co_await log.release(index - 1000);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <wal-dir>\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  runtime::reactor_config config;
  config.handle_signals = false;
  try {
    return runtime::run(config, [&]() -> runtime::task<int> {
      auto opened = co_await write_ahead_log::open(storage::wal::testing::crash_config(dir));
      uint64_t next = opened.log->last_index() + 1;
      runtime::task_group group;
      for (int a = 0; a < 32; ++a) group.spawn(appender(*opened.log, next));
      co_await group.wait();
      co_await opened.log->close();
      co_return 0;
    });
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wal_crash_helper: %s\n", e.what());
    return 1;
  }
}
