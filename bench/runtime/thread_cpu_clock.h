// CPU time used so far by the calling thread (user + kernel, exact: CLOCK_THREAD_CPUTIME_ID), for
// per-request CPU cost figures that stay meaningful on a machine shared with other work.
#pragma once

#include <ctime>

namespace ringkv::bench {

inline double thread_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace ringkv::bench
