// ringkv-bench command line: etcd's benchmark tool's flags and subcommands (so existing scripts run
// unchanged), plus our own --duration, --rate, --json, --shards and the txn-mixed / mixed workloads.
// Parsing is pure (no I/O) so tests can feed it argument vectors.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "client/endpoint.h"

namespace ringkv::bench {

enum class workload_kind { put, range, txn_put, txn_mixed, watch, watch_latency, lease_keepalive, mixed };

const char* workload_name(workload_kind kind);

enum class read_consistency { linearizable, serializable };

using client::endpoint;

struct bench_options {
  // Global flags (etcd: persistent flags of the root command).
  std::vector<endpoint> endpoints{{"127.0.0.1", 2379}};
  uint32_t conns = 1;    // gRPC connections (HTTP/2 sessions)
  uint32_t clients = 1;  // concurrent request loops, spread round-robin over the connections
  bool precise = false;  // print seconds with %g instead of %4.4f
  bool target_leader = false;
  std::chrono::nanoseconds dial_timeout{std::chrono::seconds(5)};
  // TLS (etcd's --cacert/--cert/--key): used when one of them is given or an endpoint is https://.
  std::string cacert;  // CAs the server certificate must chain to (empty: the system's)
  std::string cert;    // client certificate and key, for servers that require one
  std::string key;
  bool tls = false;
  // etcd's --user "name:password": each client authenticates once before the clock starts and sends
  // its token with every request (put and range).
  std::string user;

  // Our own global flags.
  std::chrono::nanoseconds duration{0};  // > 0: run for this long instead of --total requests
  double rate_per_s = 0;                  // > 0: open loop at this many requests/s (put, range, txn-*, mixed)
  bool json = false;                      // machine-readable summary on stdout
  uint32_t shards = 1;                    // runtime shards (threads) the client uses
  std::vector<int> server_pids;          // servers on this machine whose CPU per request is reported

  workload_kind workload = workload_kind::put;

  // put, txn-put, txn-mixed, mixed, watch, watch-latency
  uint32_t key_size = 8;
  uint32_t val_size = 8;
  uint64_t total = 10000;
  uint64_t key_space_size = 1;
  bool sequential_keys = false;
  uint32_t txn_ops = 1;      // txn-put: puts per transaction
  double rw_ratio = 1.0;     // mixed, txn-mixed: reads per write

  // range (and the read half of mixed / txn-mixed)
  std::string range_key;
  std::string range_end;
  read_consistency consistency = read_consistency::linearizable;

  // watch
  uint32_t streams = 10;
  uint32_t watch_per_stream = 100;
  uint32_t watched_key_total = 1;
  uint64_t put_rate = 0;      // watch, watch-latency: puts per second (0: no limit)
  uint64_t put_total = 1000;  // watch: puts made while watching
};

struct parse_error {
  std::string message;
};

// Usage text (printed for --help or on errors).
std::string usage_text();

// Parses argv[1..argc). Returns options, or an error naming the offending argument. `--help` yields a
// parse_error whose message is the usage text.
std::variant<bench_options, parse_error> parse_options(int argc, const char* const* argv);

// Parses "host:port", "http://host:port/" ("localhost" becomes 127.0.0.1; names are not resolved).
bool parse_endpoint(std::string text, endpoint& out);

// Parses "10s", "1m30s", "250ms", "1.5s" (Go's time.ParseDuration units ns us µs ms s m h).
bool parse_go_duration(const std::string& text, std::chrono::nanoseconds& out);

}  // namespace ringkv::bench
