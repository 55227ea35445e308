// server/common/metrics.cc — registry bookkeeping and the Prometheus text rendering of server/metrics.h.
#include "server/common/metrics.h"

#include <cassert>
#include <charconv>
#include <cmath>

namespace ringkv::server::metrics {
namespace {

void append_number(std::string& out, double value) {
  if (std::isnan(value)) { out += "NaN"; return; }
  if (std::isinf(value)) { out += value > 0 ? "+Inf" : "-Inf"; return; }
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, end);
}

void append_escaped(std::string& out, const std::string& text, bool escape_quotes) {
  for (char c : text) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '"' && escape_quotes) out += "\\\"";
    else out += c;
  }
}

// {a="1",b="2"} plus an optional extra label (le for histogram buckets); nothing when empty.
void append_labels(std::string& out, const label_set& labels, const char* extra_key = nullptr,
                   const std::string& extra_value = {}) {
  if (labels.empty() && !extra_key) return;
  out += '{';
  bool first = true;
  for (const auto& [key, value] : labels) {
    if (!first) out += ',';
    first = false;
    out += key + "=\"";
    append_escaped(out, value, true);
    out += '"';
  }
  if (extra_key) {
    if (!first) out += ',';
    out += std::string(extra_key) + "=\"" + extra_value + '"';
  }
  out += '}';
}

}  // namespace

histogram::histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(upper_bounds_.size() + 1)) {
  for (size_t i = 1; i < upper_bounds_.size(); ++i) assert(upper_bounds_[i - 1] < upper_bounds_[i]);
}

void histogram::observe(double value) {
  size_t index = 0;
  while (index < upper_bounds_.size() && value > upper_bounds_[index]) ++index;
  buckets_[index].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

std::vector<double> exponential_buckets(double start, double factor, size_t count) {
  assert(start > 0 && factor > 1);
  std::vector<double> bounds;
  for (size_t i = 0; i < count; ++i, start *= factor) bounds.push_back(start);
  return bounds;
}

registry::series& registry::find_or_add(const std::string& name, const std::string& help, kind type,
                                        const label_set& labels) {
  std::lock_guard lock(mutex_);
  family* target = nullptr;
  for (auto& f : families_)
    if (f.name == name) target = &f;
  if (!target) target = &families_.emplace_back(family{name, help, type, {}});
  assert(target->type == type && "a metric name keeps one type");
  for (auto& s : target->members)
    if (s.labels == labels) return s;
  return target->members.emplace_back(series{labels, nullptr, nullptr, nullptr});
}

counter& registry::add_counter(const std::string& name, const std::string& help, const label_set& labels) {
  series& s = find_or_add(name, help, kind::counter, labels);
  if (!s.as_counter) s.as_counter = std::make_unique<counter>();
  return *s.as_counter;
}

gauge& registry::add_gauge(const std::string& name, const std::string& help, const label_set& labels) {
  series& s = find_or_add(name, help, kind::gauge, labels);
  if (!s.as_gauge) s.as_gauge = std::make_unique<gauge>();
  return *s.as_gauge;
}

histogram& registry::add_histogram(const std::string& name, const std::string& help, std::vector<double> bounds,
                                   const label_set& labels) {
  series& s = find_or_add(name, help, kind::histogram, labels);
  if (!s.as_histogram) s.as_histogram = std::make_unique<histogram>(std::move(bounds));
  return *s.as_histogram;
}

std::string registry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& f : families_) {
    out += "# HELP " + f.name + " ";
    append_escaped(out, f.help, false);
    out += "\n# TYPE " + f.name + " ";
    out += f.type == kind::counter ? "counter\n" : f.type == kind::gauge ? "gauge\n" : "histogram\n";
    for (const auto& s : f.members) {
      if (s.as_counter || s.as_gauge) {
        out += f.name;
        append_labels(out, s.labels);
        out += ' ';
        append_number(out, s.as_counter ? double(s.as_counter->value()) : s.as_gauge->value());
        out += '\n';
        continue;
      }
      const histogram& h = *s.as_histogram;
      uint64_t cumulative = 0;
      for (size_t i = 0; i <= h.upper_bounds().size(); ++i) {
        cumulative += h.bucket_count(i);
        std::string bound;
        if (i < h.upper_bounds().size()) append_number(bound, h.upper_bounds()[i]);
        else bound = "+Inf";
        out += f.name + "_bucket";
        append_labels(out, s.labels, "le", bound);
        out += ' ' + std::to_string(cumulative) + '\n';
      }
      out += f.name + "_sum";
      append_labels(out, s.labels);
      out += ' ';
      append_number(out, h.sum());
      out += '\n' + f.name + "_count";
      append_labels(out, s.labels);
      out += ' ' + std::to_string(h.count()) + '\n';
    }
  }
  return out;
}

registry& global() {
  static registry instance;
  return instance;
}

}  // namespace ringkv::server::metrics
