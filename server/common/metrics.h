// server/common/metrics.h — a Prometheus text-format metrics registry (exposition format 0.0.4) for /metrics.
// Metrics are registered once (at startup, under a mutex) and then updated lock-free from any shard
// with relaxed atomics; render() walks them in registration order, one HELP/TYPE block per family.
// Names follow etcd's where a counterpart exists (see server/server_metrics.h for the set we export).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace ringkv::server::metrics {

using label_set = std::vector<std::pair<std::string, std::string>>;

class counter {
 public:
  void inc(uint64_t delta = 1) { value_.fetch_add(delta, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class gauge {
 public:
  void set(double value) { value_.store(value, std::memory_order_relaxed); }
  void add(double delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Cumulative histogram with fixed upper bounds (an implicit +Inf bucket is added).
class histogram {
 public:
  explicit histogram(std::vector<double> upper_bounds);
  void observe(double value);
  const std::vector<double>& upper_bounds() const { return upper_bounds_; }
  uint64_t bucket_count(size_t index) const { return buckets_[index].load(std::memory_order_relaxed); }
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> upper_bounds_;                   // strictly increasing
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // per bound (non-cumulative), +Inf last
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// start, start*factor, ... (count bounds), as Prometheus' ExponentialBuckets.
std::vector<double> exponential_buckets(double start, double factor, size_t count);

class registry {
 public:
  // Registering the same name+labels twice returns the same metric; a name must keep one type.
  counter& add_counter(const std::string& name, const std::string& help, const label_set& labels = {});
  gauge& add_gauge(const std::string& name, const std::string& help, const label_set& labels = {});
  histogram& add_histogram(const std::string& name, const std::string& help, std::vector<double> bounds,
                           const label_set& labels = {});
  std::string render() const;

 private:
  enum class kind { counter, gauge, histogram };
  struct series {
    label_set labels;
    std::unique_ptr<counter> as_counter;
    std::unique_ptr<gauge> as_gauge;
    std::unique_ptr<histogram> as_histogram;
  };
  struct family {
    std::string name, help;
    kind type;
    std::deque<series> members;
  };
  series& find_or_add(const std::string& name, const std::string& help, kind type, const label_set& labels);

  mutable std::mutex mutex_;  // registration and render only; updates are lock-free
  std::deque<family> families_;
};

registry& global();  // the process-wide registry served at /metrics

}  // namespace ringkv::server::metrics
