// CPU clocks for "microseconds per request": the client's own CPU time (user + system, all threads) from
// getrusage, and the servers' CPU time (user + system of every thread, live or exited) from
// /proc/<pid>/stat, so a summary shows what each request cost on both sides of the wire.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>
#include <vector>

namespace ringkv::bench {

std::chrono::microseconds process_cpu_time();

// utime + stime in clock ticks from the text of /proc/<pid>/stat (fields 14 and 15, counted after the
// parenthesised command name, which may itself hold spaces and parentheses); nullopt if malformed.
std::optional<unsigned long long> parse_proc_stat_cpu_ticks(std::string_view stat_text);

// Sum of the CPU time of the given processes (same machine). nullopt when one of them cannot be read
// (exited, or not ours to see): then no server figure is printed rather than a wrong one.
std::optional<std::chrono::microseconds> processes_cpu_time(const std::vector<int>& pids);

// CPU used by the client and by the servers since construction (the measured interval of one phase).
class cpu_meter {
 public:
  explicit cpu_meter(std::vector<int> server_pids);
  std::chrono::microseconds client_used() const;
  std::optional<std::chrono::microseconds> servers_used() const;  // nullopt: no pids, or unreadable
  size_t server_processes() const { return server_pids_.size(); }

 private:
  std::vector<int> server_pids_;
  std::chrono::microseconds client_start_;
  std::optional<std::chrono::microseconds> servers_start_;
};

}  // namespace ringkv::bench
