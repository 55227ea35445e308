// ringkv-bench command line parsing: a table of flags (name, scope, setter) applied after the
// subcommand is known, so per-workload defaults (watch's key-size 32, ...) match etcd's tool.
#include "bench/loadgen/options.h"

#include "bench/loadgen/key_gen.h"
#include "runtime/flag_tokens.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string_view>
#include <utility>

namespace ringkv::bench {
namespace {

using flag_value = std::optional<std::string>;  // nullopt: bare boolean flag

// Which workloads accept a flag (bit per workload_kind); `all_workloads` marks global flags.
using scope_mask = uint32_t;
constexpr scope_mask bit(workload_kind kind) { return 1u << static_cast<unsigned>(kind); }
constexpr scope_mask all_workloads = 0xffffffffu;
constexpr scope_mask put_like = bit(workload_kind::put) | bit(workload_kind::txn_put) |
                                bit(workload_kind::txn_mixed) | bit(workload_kind::mixed);

struct flag_spec {
  std::string_view name;
  bool is_bool;
  scope_mask scope;
  // Returns an error message, or empty on success.
  std::function<std::string(bench_options&, const flag_value&)> apply;
};

constexpr std::pair<std::string_view, workload_kind> workload_names[] = {
    {"put", workload_kind::put},
    {"range", workload_kind::range},
    {"txn-put", workload_kind::txn_put},
    {"txn-mixed", workload_kind::txn_mixed},
    {"watch", workload_kind::watch},
    {"watch-latency", workload_kind::watch_latency},
    {"lease-keepalive", workload_kind::lease_keepalive},
    {"mixed", workload_kind::mixed},
};

std::optional<workload_kind> find_workload(std::string_view name) {
  for (const auto& [text, kind] : workload_names) {
    if (text == name) return kind;
  }
  return std::nullopt;
}

bool parse_u64(const std::string& text, uint64_t& out) {
  if (text.empty() || text[0] == '-') return false;
  errno = 0;
  char* end = nullptr;
  unsigned long long value = std::strtoull(text.c_str(), &end, 10);
  if (errno != 0 || end != text.c_str() + text.size()) return false;
  out = value;
  return true;
}

bool parse_double(const std::string& text, double& out) {
  if (text.empty()) return false;
  errno = 0;
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (errno != 0 || end != text.c_str() + text.size() || !std::isfinite(value) || value < 0) return false;
  out = value;
  return true;
}

bool parse_bool(const flag_value& value, bool& out) {
  if (!value || *value == "true" || *value == "1") {
    out = true;
    return true;
  }
  if (*value == "false" || *value == "0") {
    out = false;
    return true;
  }
  return false;
}

}  // namespace

bool parse_endpoint(std::string text, endpoint& out) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (text.starts_with(scheme)) text.erase(0, scheme.size());
  }
  if (text.ends_with('/')) text.pop_back();
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  uint64_t port = 0;
  if (!parse_u64(text.substr(colon + 1), port) || port == 0 || port > 65535) return false;
  out.host = text.substr(0, colon);
  if (out.host == "localhost") out.host = "127.0.0.1";
  out.port = static_cast<uint16_t>(port);
  return true;
}

namespace {

// Setter factories: each returns an `apply` for one field kind.
template <typename Int>
auto set_uint(Int bench_options::*field, uint64_t min_value) {
  return [field, min_value](bench_options& o, const flag_value& v) -> std::string {
    uint64_t parsed = 0;
    if (!v || !parse_u64(*v, parsed)) return "expects a non-negative integer";
    if (parsed < min_value) return "must be at least " + std::to_string(min_value);
    if (parsed > static_cast<uint64_t>(static_cast<Int>(~Int{0}))) return "is too large";
    o.*field = static_cast<Int>(parsed);
    return {};
  };
}

auto set_bool(bool bench_options::*field) {
  return [field](bench_options& o, const flag_value& v) -> std::string {
    return parse_bool(v, o.*field) ? std::string{} : "expects true or false";
  };
}

auto set_duration(std::chrono::nanoseconds bench_options::*field) {
  return [field](bench_options& o, const flag_value& v) -> std::string {
    return v && parse_go_duration(*v, o.*field) ? std::string{} : "expects a duration like 10s or 1m30s";
  };
}

auto set_tls_file(std::string bench_options::*field) {
  return [field](bench_options& o, const flag_value& v) -> std::string {
    if (!v || v->empty()) return "expects a file path";
    o.*field = *v;
    o.tls = true;
    return {};
  };
}

std::string set_user(bench_options& o, const flag_value& v) {
  if (!v || v->find(':') == std::string::npos || v->front() == ':') return "expects name:password";
  o.user = *v;
  return {};
}

auto set_rate(double bench_options::*field) {
  return [field](bench_options& o, const flag_value& v) -> std::string {
    return v && parse_double(*v, o.*field) ? std::string{} : "expects a non-negative number";
  };
}

auto unsupported(std::string_view why) {
  return [why](bench_options&, const flag_value&) -> std::string { return std::string(why); };
}

// Calls `parse_item` for each comma-separated item of `text`; stops at the first error it returns.
template <typename ParseItem>
std::string for_each_listed(const std::string& text, ParseItem parse_item) {
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (std::string error = parse_item(text.substr(start, comma - start)); !error.empty()) return error;
    start = comma + 1;
  }
  return {};
}

std::string set_endpoints(bench_options& o, const flag_value& v) {
  if (!v || v->empty()) return "expects host:port[,host:port...]";
  o.endpoints.clear();
  return for_each_listed(*v, [&o](const std::string& item) -> std::string {
    endpoint parsed;
    if (!parse_endpoint(item, parsed)) return "bad endpoint '" + item + "' (want host:port)";
    if (item.starts_with("https://")) o.tls = true;
    o.endpoints.push_back(parsed);
    return {};
  });
}

std::string set_server_pids(bench_options& o, const flag_value& v) {
  if (!v || v->empty()) return "expects PID[,PID...]";
  o.server_pids.clear();
  constexpr uint64_t pid_max = 4194304;  // Linux's PID_MAX_LIMIT
  return for_each_listed(*v, [&o](const std::string& item) -> std::string {
    uint64_t pid = 0;
    if (!parse_u64(item, pid) || pid == 0 || pid > pid_max) return "bad process id '" + item + "'";
    o.server_pids.push_back(static_cast<int>(pid));
    return {};
  });
}

std::string set_consistency(bench_options& o, const flag_value& v) {
  if (v && *v == "l") o.consistency = read_consistency::linearizable;
  else if (v && *v == "s") o.consistency = read_consistency::serializable;
  else return "expects l (linearizable) or s (serializable)";
  return {};
}

const std::vector<flag_spec>& flag_table() {
  using w = workload_kind;
  constexpr scope_mask watchers = bit(w::watch) | bit(w::watch_latency);
  constexpr scope_mask request_workloads = all_workloads & ~watchers;  // watch ones use --put-rate, --put-total
  constexpr scope_mask keyed = put_like | watchers;
  constexpr scope_mask totals = all_workloads & ~bit(w::watch);
  constexpr scope_mask readers = bit(w::range) | bit(w::mixed) | bit(w::txn_mixed);
  static const std::vector<flag_spec> table = {
      {"endpoints", false, all_workloads, set_endpoints},
      {"conns", false, all_workloads, set_uint(&bench_options::conns, 1)},
      {"clients", false, all_workloads, set_uint(&bench_options::clients, 1)},
      {"precise", true, all_workloads, set_bool(&bench_options::precise)},
      {"target-leader", true, all_workloads, set_bool(&bench_options::target_leader)},
      {"dial-timeout", false, all_workloads, set_duration(&bench_options::dial_timeout)},
      {"duration", false, request_workloads, set_duration(&bench_options::duration)},
      {"rate", false, request_workloads, set_rate(&bench_options::rate_per_s)},
      {"json", true, all_workloads, set_bool(&bench_options::json)},
      {"shards", false, all_workloads, set_uint(&bench_options::shards, 1)},
      {"server-pids", false, all_workloads, set_server_pids},
      {"sample", true, all_workloads, unsupported("--sample is not supported (use --json)")},
      {"cert", false, all_workloads, set_tls_file(&bench_options::cert)},
      {"key", false, all_workloads, set_tls_file(&bench_options::key)},
      {"cacert", false, all_workloads, set_tls_file(&bench_options::cacert)},
      {"user", false, bit(w::put) | bit(w::range), set_user},
      {"total", false, totals, set_uint(&bench_options::total, 1)},
      {"key-size", false, keyed, set_uint(&bench_options::key_size, 1)},
      {"val-size", false, put_like | bit(w::watch_latency), set_uint(&bench_options::val_size, 0)},
      {"key-space-size", false, put_like | bit(w::watch), set_uint(&bench_options::key_space_size, 1)},
      {"sequential-keys", true, put_like | bit(w::watch), set_bool(&bench_options::sequential_keys)},
      {"txn-ops", false, bit(w::txn_put), set_uint(&bench_options::txn_ops, 1)},
      {"rw-ratio", false, bit(w::mixed) | bit(w::txn_mixed), set_rate(&bench_options::rw_ratio)},
      {"consistency", false, readers, set_consistency},
      {"streams", false, bit(w::watch), set_uint(&bench_options::streams, 1)},
      {"watch-per-stream", false, bit(w::watch), set_uint(&bench_options::watch_per_stream, 1)},
      {"watched-key-total", false, bit(w::watch), set_uint(&bench_options::watched_key_total, 1)},
      {"put-rate", false, watchers, set_uint(&bench_options::put_rate, 0)},
      {"put-total", false, bit(w::watch), set_uint(&bench_options::put_total, 1)},
      {"compact-interval", false, bit(w::put), unsupported("--compact-interval is not supported")},
      {"compact-index-delta", false, bit(w::put), unsupported("--compact-index-delta is not supported")},
      {"check-hashkv", true, bit(w::put), unsupported("--check-hashkv is not supported")},
  };
  return table;
}

const flag_spec* find_flag(std::string_view name) {
  for (const auto& spec : flag_table()) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

// etcd's defaults that differ per workload (watch / watch-latency use 32-byte keys, ...).
void apply_workload_defaults(bench_options& o) {
  switch (o.workload) {
    case workload_kind::watch:
      o.key_size = 32;
      break;
    case workload_kind::watch_latency:
      o.key_size = 32;
      o.val_size = 32;
      o.put_rate = 100;
      break;
    default:
      break;
  }
}

}  // namespace

const char* workload_name(workload_kind kind) {
  for (const auto& [text, k] : workload_names) {
    if (k == kind) return text.data();
  }
  return "?";
}

bool parse_go_duration(const std::string& text, std::chrono::nanoseconds& out) {
  static constexpr std::pair<std::string_view, double> units[] = {
      {"ns", 1}, {"us", 1e3}, {"µs", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
  if (text.empty()) return false;
  if (text == "0") {
    out = std::chrono::nanoseconds(0);
    return true;
  }
  double total_ns = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t number_end = pos;
    while (number_end < text.size() && (std::isdigit(static_cast<unsigned char>(text[number_end])) ||
                                        text[number_end] == '.')) {
      ++number_end;
    }
    if (number_end == pos) return false;
    double number = 0;
    if (!parse_double(text.substr(pos, number_end - pos), number)) return false;
    std::string_view rest(text.c_str() + number_end, text.size() - number_end);
    const std::pair<std::string_view, double>* matched = nullptr;
    for (const auto& unit : units) {  // longest match first: "ms" before "m", "ns" before "s"
      if (rest.starts_with(unit.first) && (!matched || unit.first.size() > matched->first.size())) {
        matched = &unit;
      }
    }
    if (!matched) return false;
    total_ns += number * matched->second;
    pos = number_end + matched->first.size();
  }
  if (total_ns > 1e18) return false;
  out = std::chrono::nanoseconds(static_cast<int64_t>(total_ns));
  return true;
}

std::string usage_text() {
  return "usage: ringkv-bench [global flags] <workload> [workload flags]\n"
         "\n"
         "Workloads (etcd benchmark compatible): put, range KEY [END], txn-put, watch, watch-latency,\n"
         "lease-keepalive; ringkv-bench only: txn-mixed (range + compare-and-put), mixed (--rw-ratio).\n"
         "\n"
         "Global flags:\n"
         "  --endpoints=host:port[,...]  gRPC endpoints (default 127.0.0.1:2379)\n"
         "  --conns=N                    gRPC connections (default 1)\n"
         "  --clients=N                  concurrent clients over those connections (default 1)\n"
         "  --target-leader              connect only to the leader\n"
         "  --dial-timeout=D             connect timeout (default 5s)\n"
         "  --cacert=F --cert=F --key=F  TLS: trusted CA, client certificate and key (https:// endpoints\n"
         "                               use TLS too)\n"
         "  --precise                    print full floating point precision\n"
         "  --duration=D                 run for D instead of --total requests\n"
         "  --rate=R                     open loop: issue R requests/s, latency counted from schedule\n"
         "  --json                       print the summary as JSON\n"
         "  --shards=N                   client runtime threads (default 1)\n"
         "  --server-pids=PID[,PID...]   also report these local servers' CPU µs per request (/proc)\n"
         "\n"
         "Workload flags:\n"
         "  put, txn-put, mixed, txn-mixed: --total --key-size --val-size --key-space-size\n"
         "      --sequential-keys, txn-put: --txn-ops, mixed/txn-mixed: --rw-ratio --consistency\n"
         "  range: --total --consistency=l|s\n"
         "  watch: --streams --watch-per-stream --watched-key-total --put-rate --put-total --key-size\n"
         "      --key-space-size --sequential-keys\n"
         "  watch-latency: --total --put-rate --key-size --val-size\n"
         "  lease-keepalive: --total\n";
}

std::variant<bench_options, parse_error> parse_options(int argc, const char* const* argv) {
  const std::vector<std::string> arguments(argv + (argc > 0 ? 1 : 0), argv + (argc > 0 ? argc : 0));
  const runtime::flag_tokens lexed = runtime::tokenize_flags(
      arguments,
      [](std::string_view name) {
        if (name == "h" || name == "help") return runtime::flag_arity::boolean;
        const flag_spec* spec = find_flag(name);
        if (spec == nullptr) return runtime::flag_arity::undefined;
        return spec->is_bool ? runtime::flag_arity::boolean : runtime::flag_arity::takes_value;
      },
      runtime::flag_dialect::pflag);
  std::vector<runtime::flag_token> flags;
  std::vector<std::string> positionals;
  for (const runtime::flag_token& token : lexed.tokens) {  // help wins over an error further right
    if (token.positional() ? *token.value == "help" : token.name == "h" || token.name == "help") {
      return parse_error{usage_text()};
    }
    if (token.positional()) positionals.push_back(*token.value);
    else flags.push_back(token);
  }
  if (!lexed.ok()) return parse_error{lexed.error};

  if (positionals.empty()) return parse_error{"missing workload\n" + usage_text()};
  auto kind = find_workload(positionals[0]);
  if (!kind) return parse_error{"unknown workload: " + positionals[0]};
  bench_options options;
  options.workload = *kind;
  apply_workload_defaults(options);

  std::vector<std::string> args(positionals.begin() + 1, positionals.end());
  if (options.workload == workload_kind::range) {
    if (args.empty() || args.size() > 2) return parse_error{"range needs KEY [END]"};
    options.range_key = args[0];
    if (args.size() == 2) options.range_end = args[1];
  } else if (options.workload == workload_kind::txn_mixed || options.workload == workload_kind::mixed) {
    if (args.size() > 0) return parse_error{std::string(workload_name(options.workload)) + " takes no arguments"};
  } else if (!args.empty()) {
    return parse_error{"unexpected argument: " + args[0]};
  }

  for (const auto& flag : flags) {
    const flag_spec* spec = find_flag(flag.name);
    if (!(spec->scope & bit(options.workload))) {
      return parse_error{"unknown flag: --" + flag.name + " (not a " + workload_name(options.workload) + " flag)"};
    }
    if (std::string error = spec->apply(options, flag.value); !error.empty()) {
      return parse_error{"--" + flag.name + ": " + error};
    }
  }
  if (options.endpoints.empty()) return parse_error{"--endpoints: none given"};
  if (options.cert.empty() != options.key.empty()) return parse_error{"--cert and --key must be given together"};
  if (varint_key_bytes(options.key_space_size - 1) > options.key_size) {
    return parse_error{"--key-size " + std::to_string(options.key_size) + " is too small for --key-space-size " +
                       std::to_string(options.key_space_size)};
  }
  return options;
}

}  // namespace ringkv::bench
