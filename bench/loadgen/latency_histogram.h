// Latency samples with exact percentiles: every sample is kept (nanoseconds), sorted once at the end.
// Percentiles use the nearest-rank definition: p(q) is the smallest sample s such that at least q% of
// the samples are <= s. One histogram per client shard; merged before summarising.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

namespace ringkv::bench {

class latency_histogram {
 public:
  // Samples beyond this many are counted (count_total) but not stored; the summary says so.
  static constexpr uint64_t stored_samples_limit = uint64_t{1} << 26;  // 512 MiB of samples

  void record(std::chrono::nanoseconds latency);
  void merge(const latency_histogram& other);
  void clear();

  uint64_t count_total() const { return count_total_; }
  uint64_t count_stored() const { return samples_ns_.size(); }

  // Sorts the stored samples; queries below need it (asserted).
  void finalize();

  // q in [0, 100]; the histogram must be finalized and non-empty.
  std::chrono::nanoseconds percentile(double q) const;
  std::chrono::nanoseconds min() const;
  std::chrono::nanoseconds max() const;
  double mean_ns() const;
  double stddev_ns() const;  // population standard deviation, as etcd's tool prints

  // The sorted samples (after finalize), for bucketed printing.
  const std::vector<uint64_t>& sorted_samples_ns() const;

 private:
  std::vector<uint64_t> samples_ns_;
  uint64_t count_total_ = 0;
  bool sorted_ = true;
};

}  // namespace ringkv::bench
