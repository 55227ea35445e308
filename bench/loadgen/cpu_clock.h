// The client's own CPU time (user + system, all threads) from getrusage, so the summary can show
// CPU µs per request and a reader can tell whether the load generator was the bottleneck.
#pragma once

#include <chrono>

namespace ringkv::bench {

std::chrono::microseconds process_cpu_time();

}  // namespace ringkv::bench
