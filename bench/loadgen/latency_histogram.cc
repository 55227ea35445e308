// Exact latency percentiles over stored samples (see latency_histogram.h).
#include "bench/loadgen/latency_histogram.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace ringkv::bench {

void latency_histogram::record(std::chrono::nanoseconds latency) {
  ++count_total_;
  if (samples_ns_.size() >= stored_samples_limit) return;
  uint64_t value = latency.count() < 0 ? 0 : static_cast<uint64_t>(latency.count());
  if (sorted_ && !samples_ns_.empty() && value < samples_ns_.back()) sorted_ = false;
  samples_ns_.push_back(value);
}

void latency_histogram::merge(const latency_histogram& other) {
  count_total_ += other.count_total_;
  size_t room = stored_samples_limit - std::min<uint64_t>(stored_samples_limit, samples_ns_.size());
  size_t take = std::min(room, other.samples_ns_.size());
  samples_ns_.insert(samples_ns_.end(), other.samples_ns_.begin(), other.samples_ns_.begin() + take);
  sorted_ = false;
}

void latency_histogram::clear() {
  samples_ns_.clear();
  count_total_ = 0;
  sorted_ = true;
}

void latency_histogram::finalize() {
  if (!sorted_) std::sort(samples_ns_.begin(), samples_ns_.end());
  sorted_ = true;
}

std::chrono::nanoseconds latency_histogram::percentile(double q) const {
  assert(sorted_ && !samples_ns_.empty());
  assert(q >= 0 && q <= 100);
  const double n = static_cast<double>(samples_ns_.size());
  // Nearest rank, 1-based: ceil(q/100 * n), at least 1. The epsilon keeps 99.9% of 1000 at rank 999.
  auto rank = static_cast<uint64_t>(std::ceil(q / 100.0 * n - 1e-9));
  rank = std::clamp<uint64_t>(rank, 1, samples_ns_.size());
  return std::chrono::nanoseconds(samples_ns_[rank - 1]);
}

std::chrono::nanoseconds latency_histogram::min() const {
  assert(sorted_ && !samples_ns_.empty());
  return std::chrono::nanoseconds(samples_ns_.front());
}

std::chrono::nanoseconds latency_histogram::max() const {
  assert(sorted_ && !samples_ns_.empty());
  return std::chrono::nanoseconds(samples_ns_.back());
}

double latency_histogram::mean_ns() const {
  if (samples_ns_.empty()) return 0;
  long double sum = 0;
  for (uint64_t v : samples_ns_) sum += v;
  return static_cast<double>(sum / samples_ns_.size());
}

double latency_histogram::stddev_ns() const {
  if (samples_ns_.empty()) return 0;
  const double mean = mean_ns();
  long double squares = 0;
  for (uint64_t v : samples_ns_) {
    const double dev = static_cast<double>(v) - mean;
    squares += dev * dev;
  }
  return std::sqrt(static_cast<double>(squares / samples_ns_.size()));
}

const std::vector<uint64_t>& latency_histogram::sorted_samples_ns() const {
  assert(sorted_);
  return samples_ns_;
}

}  // namespace ringkv::bench
