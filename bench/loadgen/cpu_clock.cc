// getrusage(RUSAGE_SELF): user + system time of the whole process.
#include "bench/loadgen/cpu_clock.h"

#include <sys/resource.h>

namespace ringkv::bench {

std::chrono::microseconds process_cpu_time() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto to_us = [](const timeval& tv) { return int64_t{tv.tv_sec} * 1'000'000 + tv.tv_usec; };
  return std::chrono::microseconds(to_us(usage.ru_utime) + to_us(usage.ru_stime));
}

}  // namespace ringkv::bench
