// run_plan (see run_plan.h).
#include "bench/loadgen/run_plan.h"

#include <cassert>

namespace ringkv::bench {

run_plan::run_plan(uint64_t total, std::chrono::nanoseconds duration, double rate_per_s)
    : total_(duration.count() > 0 ? 0 : total), duration_(duration), rate_per_s_(rate_per_s) {
  assert(total_ > 0 || duration_.count() > 0);
}

void run_plan::start(bench_clock::time_point now) {
  start_ = now;
  if (duration_.count() > 0) deadline_ = now + duration_;
}

std::optional<uint64_t> run_plan::claim(bench_clock::time_point now) {
  if (now >= deadline_) return std::nullopt;
  const uint64_t index = next_index_.fetch_add(1, std::memory_order_relaxed);
  if (total_ > 0 && index >= total_) return std::nullopt;
  if (open_loop() && due_time(index) >= deadline_) return std::nullopt;
  return index;
}

bench_clock::time_point run_plan::due_time(uint64_t index) const {
  assert(open_loop());
  const auto offset = std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(index) * 1e9 / rate_per_s_));
  return start_ + offset;
}

}  // namespace ringkv::bench
