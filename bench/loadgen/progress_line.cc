// Progress line thread: samples the counters every redraw_interval and redraws one terminal line.
#include "bench/loadgen/progress_line.h"

#include <unistd.h>

#include <cinttypes>
#include <cstdio>

namespace ringkv::bench {

progress_line::progress_line(const progress_counters& counters, uint64_t expected_total, bool enabled)
    : counters_(counters), expected_total_(expected_total) {
  if (enabled) thread_ = std::thread([this] { run(); });
}

progress_line::~progress_line() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  std::fputs("\r\033[K", stderr);  // erase the line
  std::fflush(stderr);
}

bool progress_line::stderr_is_terminal() { return isatty(STDERR_FILENO) == 1; }

std::string progress_line::render(uint64_t done, uint64_t failed, uint64_t expected_total, double rate_per_s,
                                  double elapsed_s) {
  char buffer[160];
  if (expected_total > 0) {
    std::snprintf(buffer, sizeof buffer, " %" PRIu64 "/%" PRIu64 " (%.0f%%)  %.0f req/s  errors %" PRIu64
                  "  %.1fs", done + failed, expected_total,
                  100.0 * static_cast<double>(done + failed) / static_cast<double>(expected_total), rate_per_s,
                  failed, elapsed_s);
  } else {
    std::snprintf(buffer, sizeof buffer, " %" PRIu64 " done  %.0f req/s  errors %" PRIu64 "  %.1fs",
                  done + failed, rate_per_s, failed, elapsed_s);
  }
  return buffer;
}

void progress_line::run() {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  auto last_time = start;
  uint64_t last_count = 0;
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, redraw_interval, [this] { return stopping_; })) {
    const auto now = clock::now();
    const uint64_t done = counters_.done.load(std::memory_order_relaxed);
    const uint64_t failed = counters_.failed.load(std::memory_order_relaxed);
    const double interval_s = std::chrono::duration<double>(now - last_time).count();
    const double rate = interval_s > 0 ? static_cast<double>(done + failed - last_count) / interval_s : 0;
    last_time = now;
    last_count = done + failed;
    const std::string line =
        render(done, failed, expected_total_, rate, std::chrono::duration<double>(now - start).count());
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
    std::fflush(stderr);
  }
}

}  // namespace ringkv::bench
