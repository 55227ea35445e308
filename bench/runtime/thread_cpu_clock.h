// CPU time used so far by the calling thread, split into user and kernel time, for per-request CPU
// cost figures that stay meaningful on a machine shared with other work.
#pragma once

#include <sys/resource.h>

namespace ringkv::bench {

struct thread_cpu_seconds {
  double user = 0;
  double system = 0;
  double total() const { return user + system; }
};

inline thread_cpu_seconds thread_cpu_now() {
  rusage usage{};
  ::getrusage(RUSAGE_THREAD, &usage);
  auto seconds = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6; };
  return {seconds(usage.ru_utime), seconds(usage.ru_stime)};
}

}  // namespace ringkv::bench
