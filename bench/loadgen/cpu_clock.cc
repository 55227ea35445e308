// getrusage(RUSAGE_SELF) for the client; /proc/<pid>/stat for the servers.
#include "bench/loadgen/cpu_clock.h"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>

namespace ringkv::bench {

std::chrono::microseconds process_cpu_time() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto to_us = [](const timeval& tv) { return int64_t{tv.tv_sec} * 1'000'000 + tv.tv_usec; };
  return std::chrono::microseconds(to_us(usage.ru_utime) + to_us(usage.ru_stime));
}

std::optional<unsigned long long> parse_proc_stat_cpu_ticks(std::string_view stat_text) {
  // "pid (comm) state ppid ... utime stime ...": after the LAST ')' come fields 3, 4, ...; utime is 14.
  const size_t close = stat_text.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view rest = stat_text.substr(close + 1);
  constexpr int utime_field = 14;
  unsigned long long ticks = 0;
  int field = 2;
  int summed = 0;
  size_t at = 0;
  while (summed < 2) {
    while (at < rest.size() && rest[at] == ' ') ++at;
    if (at >= rest.size()) return std::nullopt;
    size_t end = rest.find(' ', at);
    if (end == std::string_view::npos) end = rest.size();
    ++field;
    if (field >= utime_field) {
      unsigned long long value = 0;
      const auto [ptr, ec] = std::from_chars(rest.data() + at, rest.data() + end, value);
      if (ec != std::errc{} || ptr != rest.data() + end) return std::nullopt;
      ticks += value;
      ++summed;
    }
    at = end;
  }
  return ticks;
}

std::optional<std::chrono::microseconds> processes_cpu_time(const std::vector<int>& pids) {
  static const long ticks_per_s = sysconf(_SC_CLK_TCK);
  unsigned long long ticks = 0;
  for (int pid : pids) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    if (!stat.is_open()) return std::nullopt;
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const std::optional<unsigned long long> process_ticks = parse_proc_stat_cpu_ticks(text);
    if (!process_ticks) return std::nullopt;
    ticks += *process_ticks;
  }
  if (ticks_per_s <= 0) return std::nullopt;
  const unsigned long long us = ticks * 1'000'000ULL / static_cast<unsigned long long>(ticks_per_s);
  return std::chrono::microseconds(static_cast<long long>(us));
}

cpu_meter::cpu_meter(std::vector<int> server_pids)
    : server_pids_(std::move(server_pids)),
      client_start_(process_cpu_time()),
      servers_start_(server_pids_.empty() ? std::nullopt : processes_cpu_time(server_pids_)) {}

std::chrono::microseconds cpu_meter::client_used() const { return process_cpu_time() - client_start_; }

std::optional<std::chrono::microseconds> cpu_meter::servers_used() const {
  if (!servers_start_) return std::nullopt;
  const std::optional<std::chrono::microseconds> now = processes_cpu_time(server_pids_);
  if (!now) return std::nullopt;
  return *now - *servers_start_;
}

}  // namespace ringkv::bench
