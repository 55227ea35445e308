// A live progress line on stderr ("\r 12345/100000  41234 req/s  errors 0"), redrawn every
// redraw_interval by a small thread while a phase runs, and only when stderr is a terminal.
// Request loops bump the relaxed atomic counters; the line is erased when the phase ends.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace ringkv::bench {

struct progress_counters {
  std::atomic<uint64_t> done{0};
  std::atomic<uint64_t> failed{0};
};

class progress_line {
 public:
  static constexpr std::chrono::milliseconds redraw_interval{250};

  // expected_total 0: unknown (duration-bounded runs show elapsed time instead).
  progress_line(const progress_counters& counters, uint64_t expected_total, bool enabled);
  ~progress_line();
  progress_line(const progress_line&) = delete;
  progress_line& operator=(const progress_line&) = delete;

  // True when stderr is a terminal (the default for `enabled`).
  static bool stderr_is_terminal();

  // The text of one redraw (exposed for tests).
  static std::string render(uint64_t done, uint64_t failed, uint64_t expected_total, double rate_per_s,
                            double elapsed_s);

 private:
  void run();

  const progress_counters& counters_;
  uint64_t expected_total_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ringkv::bench
