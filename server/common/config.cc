// server/common/config.cc — flag/environment parsing and validation for server_config. One table lists every
// flag (name, default, help, setter); --help, ETCD_* lookup and parsing are all driven by it.
#include "server/common/config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <functional>
#include <set>
#include <thread>

#include "runtime/flag_tokens.h"

extern char** environ;

namespace ringkv::server {
namespace {

using setter = std::function<std::string(server_config&, const std::string&)>;  // returns error or ""

struct flag_spec {
  const char* name;
  const char* default_value;  // shown in --help and applied before flags/env
  const char* help;
  setter set;
};

template <typename Int>
std::string parse_int(const std::string& text, Int& out, Int min_value) {
  Int value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return "invalid number '" + text + "'";
  if (value < min_value) return "must be at least " + std::to_string(min_value) + ", got " + text;
  out = value;
  return "";
}

// Go-style duration ("1h", "30m", "1h30m", "90s", "500ms"); a bare integer means `bare_unit`.
std::optional<std::chrono::milliseconds> parse_duration(const std::string& text,
                                                        std::chrono::milliseconds bare_unit) {
  if (text.empty()) return std::nullopt;
  if (std::all_of(text.begin(), text.end(), [](char c) { return std::isdigit(uint8_t(c)); })) {
    int64_t count = 0;
    if (!parse_int<int64_t>(text, count, 0).empty()) return std::nullopt;
    return bare_unit * count;
  }
  std::chrono::milliseconds total{0};
  size_t i = 0;
  while (i < text.size()) {
    size_t digits_end = i;
    while (digits_end < text.size() && std::isdigit(uint8_t(text[digits_end]))) ++digits_end;
    if (digits_end == i) return std::nullopt;
    int64_t count = std::stoll(text.substr(i, digits_end - i));
    size_t unit_end = digits_end;
    while (unit_end < text.size() && std::isalpha(uint8_t(text[unit_end]))) ++unit_end;
    std::string unit = text.substr(digits_end, unit_end - digits_end);
    if (unit == "h") total += std::chrono::hours(count);
    else if (unit == "m") total += std::chrono::minutes(count);
    else if (unit == "s") total += std::chrono::seconds(count);
    else if (unit == "ms") total += std::chrono::milliseconds(count);
    else return std::nullopt;
    i = unit_end;
  }
  return total;
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(separator, start);
    if (end == std::string::npos) end = text.size();
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

std::string parse_url(const std::string& text, url_endpoint& out) {
  auto scheme_end = text.find("://");
  if (scheme_end == std::string::npos) return "URL '" + text + "' has no scheme (expected http://host:port)";
  out.url = text;
  out.scheme = text.substr(0, scheme_end);
  if (out.scheme != "http" && out.scheme != "https")
    return "URL '" + text + "': unsupported scheme '" + out.scheme + "' (expected http or https)";
  std::string rest = text.substr(scheme_end + 3);
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    if (rest.substr(slash) != "/") return "URL '" + text + "' must not have a path";
    rest.resize(slash);
  }
  std::string port_text;
  if (!rest.empty() && rest[0] == '[') {
    auto close = rest.find(']');
    if (close == std::string::npos) return "URL '" + text + "': unterminated IPv6 address";
    out.host = rest.substr(1, close - 1);
    if (close + 1 >= rest.size() || rest[close + 1] != ':') return "URL '" + text + "' has no port";
    port_text = rest.substr(close + 2);
  } else {
    auto colon = rest.rfind(':');
    if (colon == std::string::npos) return "URL '" + text + "' has no port";
    out.host = rest.substr(0, colon);
    port_text = rest.substr(colon + 1);
  }
  if (out.host.empty()) return "URL '" + text + "' has no host";
  uint32_t port = 0;
  if (!parse_int<uint32_t>(port_text, port, 0).empty() || port > 65535)
    return "URL '" + text + "' has an invalid port '" + port_text + "'";
  out.port = uint16_t(port);
  out.bind_address = out.host == "localhost" ? "127.0.0.1" : out.host;
  return "";
}

setter url_list(std::vector<url_endpoint> server_config::*field) {
  return [field](server_config& config, const std::string& text) -> std::string {
    std::vector<url_endpoint> urls;
    for (const auto& part : split(text, ',')) {
      if (part.empty()) continue;
      url_endpoint endpoint;
      if (auto error = parse_url(part, endpoint); !error.empty()) return error;
      urls.push_back(std::move(endpoint));
    }
    if (urls.empty()) return "needs at least one URL";
    config.*field = std::move(urls);
    return "";
  };
}

template <typename Int>
setter int_field(Int server_config::*field, Int min_value) {
  return [field, min_value](server_config& config, const std::string& text) {
    return parse_int<Int>(text, config.*field, min_value);
  };
}

setter milliseconds_field(std::chrono::milliseconds server_config::*field) {
  return [field](server_config& config, const std::string& text) -> std::string {
    int64_t ms = 0;
    if (auto error = parse_int<int64_t>(text, ms, 1); !error.empty()) return error;
    config.*field = std::chrono::milliseconds(ms);
    return "";
  };
}

std::string set_initial_cluster(server_config& config, const std::string& text) {
  std::map<std::string, std::vector<std::string>> members;
  for (const auto& part : split(text, ',')) {
    auto eq = part.find('=');
    if (eq == std::string::npos || eq == 0) return "entry '" + part + "' is not name=http://host:port";
    url_endpoint endpoint;
    if (auto error = parse_url(part.substr(eq + 1), endpoint); !error.empty()) return error;
    members[part.substr(0, eq)].push_back(endpoint.url);
  }
  config.initial_cluster = std::move(members);
  return "";
}

// The TLS flags (tls_flags.h) follow the table's own.
std::vector<flag_spec> with_tls_flags(std::vector<flag_spec> table) {
  for (const auto& flag : tls_flag_table()) table.push_back({flag.name, flag.default_value, flag.help, flag.set});
  return table;
}

const std::vector<flag_spec>& flag_table() {
  static const std::vector<flag_spec> table = with_tls_flags({
      {"name", "default", "Human-readable name for this member.",
       [](server_config& c, const std::string& v) -> std::string {
         if (v.empty()) return "must not be empty";
         c.name = v;
         return "";
       }},
      {"data-dir", "${name}.ringkv", "Path to the data directory.",
       [](server_config& c, const std::string& v) -> std::string {
         if (v.empty()) return "must not be empty";
         c.data_dir = v;
         return "";
       }},
      {"listen-client-urls", "http://localhost:2379",
       "List of URLs to listen on for client traffic (localhost binds 127.0.0.1).",
       url_list(&server_config::listen_client_urls)},
      {"advertise-client-urls", "http://localhost:2379", "List of this member's client URLs to advertise.",
       url_list(&server_config::advertise_client_urls)},
      {"listen-peer-urls", "http://localhost:2380", "List of URLs to listen on for peer traffic.",
       url_list(&server_config::listen_peer_urls)},
      {"initial-advertise-peer-urls", "http://localhost:2380",
       "List of this member's peer URLs to advertise to the rest of the cluster.",
       url_list(&server_config::initial_advertise_peer_urls)},
      {"initial-cluster", "${name}=${initial-advertise-peer-urls}",
       "Initial cluster configuration for bootstrapping (name=url,...).", set_initial_cluster},
      {"initial-cluster-token", "etcd-cluster", "Initial cluster token for the cluster during bootstrap.",
       [](server_config& c, const std::string& v) -> std::string {
         c.initial_cluster_token = v;
         return "";
       }},
      {"initial-cluster-state", "new", "Initial cluster state ('new' or 'existing').",
       [](server_config& c, const std::string& v) -> std::string {
         if (v == "new") c.initial_cluster_state = cluster_state::new_cluster;
         else if (v == "existing") c.initial_cluster_state = cluster_state::existing_cluster;
         else return "must be 'new' or 'existing', got '" + v + "'";
         return "";
       }},
      {"snapshot-count", "100000", "Number of committed transactions to trigger a snapshot to disk (ringkv: at least, and at least as many entry bytes as the last snapshot).",
       int_field<uint64_t>(&server_config::snapshot_count, 1)},
      {"quota-backend-bytes", "0",
       "Raise alarms when backend size exceeds the given quota (0 defaults to 2 GiB).",
       int_field<int64_t>(&server_config::quota_backend_bytes, 0)},
      {"max-request-bytes", "1572864", "Maximum client request size in bytes the server will accept.",
       int_field<uint64_t>(&server_config::max_request_bytes, 1)},
      {"max-txn-ops", "128", "Maximum number of operations permitted in a transaction.",
       int_field<uint64_t>(&server_config::max_txn_ops, 1)},
      {"max-concurrent-streams", "4294967295", "Maximum concurrent streams that each client can open.",
       int_field<uint64_t>(&server_config::max_concurrent_streams, 1)},
      {"auto-compaction-mode", "periodic",
       "Interpret 'auto-compaction-retention' as 'periodic' (duration, hours if no unit) or 'revision'.",
       [](server_config& c, const std::string& v) -> std::string {
         if (v == "periodic") c.auto_compaction_mode = compaction_mode::periodic;
         else if (v == "revision") c.auto_compaction_mode = compaction_mode::revision;
         else return "must be 'periodic' or 'revision', got '" + v + "'";
         return "";
       }},
      {"auto-compaction-retention", "0", "Auto compaction retention length. 0 means disable auto compaction.",
       [](server_config& c, const std::string& v) -> std::string {
         c.auto_compaction_retention = v;
         return "";
       }},
      {"heartbeat-interval", "100", "Time (in milliseconds) of a heartbeat interval.",
       milliseconds_field(&server_config::heartbeat_interval)},
      {"election-timeout", "1000", "Time (in milliseconds) for an election to timeout.",
       milliseconds_field(&server_config::election_timeout)},
      {"experimental-watch-progress-notify-interval", "10m", "Duration of periodical watch progress notification.",
       [](server_config& c, const std::string& v) -> std::string {
         auto interval = parse_duration(v, std::chrono::milliseconds(0));  // a bare number has no unit: refused
         if (!interval || interval->count() <= 0) return "must be a positive duration (e.g. 10m, 500ms), got '" + v + "'";
         c.watch_progress_notify_interval = *interval;
         return "";
       }},
      {"experimental-wal-sync-delay", "0ms",
       "Testing only: wait this long after every WAL fdatasync before acknowledging, to act as a slow disk.",
       [](server_config& c, const std::string& v) -> std::string {
         auto delay = parse_duration(v, std::chrono::milliseconds(0));
         if (!delay || delay->count() < 0) return "must be a duration (e.g. 0ms, 800ms), got '" + v + "'";
         c.wal_sync_delay = *delay;
         return "";
       }},
      {"log-level", "info", "Configures log level. Only supports debug, info, warn, error, panic, or fatal.",
       [](server_config& c, const std::string& v) -> std::string {
         auto level = parse_log_level(v);
         if (!level) return "must be one of debug, info, warn, error, panic, fatal; got '" + v + "'";
         c.level = *level;
         return "";
       }},
      {"shards", "0", "Number of shards (threads, one io_uring each); 0 means one per online core.",
       [](server_config& c, const std::string& v) -> std::string {
         if (auto error = parse_int<unsigned>(v, c.shards, 0); !error.empty()) return error;
         if (c.shards > 256) return "must be at most 256, got " + v;
         return "";
       }},
      {"io-backend", "auto",
       "I/O backend: 'uring', 'epoll', or 'auto' (io_uring, falling back to epoll where seccomp refuses it; "
       "the RINGKV_IO_BACKEND environment variable decides when the flag is auto).",
       [](server_config& c, const std::string& v) -> std::string {
         auto backend = runtime::parse_io_backend(v);
         if (!backend) return "must be 'auto', 'uring' or 'epoll', got '" + v + "'";
         c.io_backend = *backend;
         return "";
       }},
  });
  return table;
}

const flag_spec* find_flag(std::string_view name) {
  for (const auto& flag : flag_table())
    if (name == flag.name) return &flag;
  return nullptr;
}

std::string env_name(std::string_view flag) {
  std::string name = "ETCD_";
  for (char c : flag) name += c == '-' ? '_' : char(std::toupper(uint8_t(c)));
  return name;
}

// Cross-flag checks and derived defaults, run once every flag has been applied.
std::string finish(server_config& config, const std::set<std::string>& given) {
  if (!given.count("data-dir")) config.data_dir = config.name + ".ringkv";
  if (!given.count("initial-cluster")) {
    for (const auto& url : config.initial_advertise_peer_urls)
      config.initial_cluster[config.name].push_back(url.url);
  } else if (!config.initial_cluster.count(config.name)) {
    return "--initial-cluster has no entry for --name '" + config.name + "'";
  }
  if (config.election_timeout < 5 * config.heartbeat_interval)
    return "--election-timeout[" + std::to_string(config.election_timeout.count()) +
           "ms] should be at least as 5 times as --heartbeat-interval[" +
           std::to_string(config.heartbeat_interval.count()) + "ms]";
  if (config.election_timeout > std::chrono::milliseconds(50000))
    return "--election-timeout[" + std::to_string(config.election_timeout.count()) +
           "ms] is too long, and should be set less than 50 seconds";
  const std::string& retention = config.auto_compaction_retention;
  if (config.auto_compaction_mode == compaction_mode::periodic) {
    if (!parse_duration(retention, std::chrono::hours(1)))
      return "--auto-compaction-retention '" + retention + "' is not a duration (e.g. 1h, 30m) or hours";
  } else {
    int64_t revisions = 0;
    if (!parse_int<int64_t>(retention, revisions, 0).empty())
      return "--auto-compaction-retention '" + retention + "' must be a revision count in revision mode";
  }
  if (config.shards == 0) config.shards = std::max(1u, std::thread::hardware_concurrency());
  return check_tls_flags(config);
}

}  // namespace

int64_t server_config::effective_quota_bytes() const {
  return quota_backend_bytes == 0 ? default_quota_bytes : quota_backend_bytes;
}

std::chrono::seconds server_config::compaction_period() const {
  if (auto_compaction_mode != compaction_mode::periodic) return std::chrono::seconds(0);
  auto period = parse_duration(auto_compaction_retention, std::chrono::hours(1));
  return std::chrono::duration_cast<std::chrono::seconds>(period.value_or(std::chrono::milliseconds(0)));
}

int64_t server_config::compaction_revisions() const {
  if (auto_compaction_mode != compaction_mode::revision) return 0;
  int64_t revisions = 0;
  parse_int<int64_t>(auto_compaction_retention, revisions, 0);
  return revisions;
}

config_parse_result parse_config(const std::vector<std::string>& args, const environment& env) {
  config_parse_result result;
  server_config config;
  std::set<std::string> given;
  auto apply = [&](const flag_spec& flag, const std::string& value, const std::string& origin) {
    if (auto error = flag.set(config, value); !error.empty()) {
      result.error = "invalid value for " + origin + ": " + error;
      return false;
    }
    given.insert(flag.name);
    return true;
  };
  for (const auto& flag : flag_table())  // defaults first (placeholders are filled in by finish())
    if (flag.default_value[0] != '$') flag.set(config, flag.default_value);

  std::map<std::string, std::string> from_flags;
  auto arity = [](std::string_view name) {
    if (name == "h" || name == "help" || name == "version" || is_boolean_tls_flag(name)) return runtime::flag_arity::boolean;
    return find_flag(name) ? runtime::flag_arity::takes_value : runtime::flag_arity::undefined;
  };
  const runtime::flag_tokens tokens =
      tokenize_flags(std::span(args).subspan(std::min<size_t>(1, args.size())), arity, runtime::flag_dialect::go_flag);
  for (const auto& token : tokens.tokens) {  // -h and --version win over any error, as in etcd
    if (token.name == "h" || token.name == "help") { result.show_help = true; return result; }
    if (token.name == "version") { result.show_version = true; return result; }
  }
  if (!tokens.ok()) { result.error = tokens.error; return result; }
  for (const auto& token : tokens.tokens) {
    if (token.positional()) {
      result.error = "unexpected argument '" + *token.value + "' (flags look like --name value)";
      return result;
    }
    from_flags[token.name] = token.value.value_or("");
  }
  for (const auto& [key, value] : env) {
    if (key.rfind("ETCD_", 0) != 0) continue;
    bool known = false;
    for (const auto& flag : flag_table()) {
      if (env_name(flag.name) != key) continue;
      known = true;
      if (from_flags.count(flag.name)) {
        result.warnings.push_back("conflicting environment variable " + key +
                                  " is shadowed by corresponding command-line flag --" + flag.name);
      } else if (!apply(flag, value, key)) {
        return result;
      }
    }
    if (!known) result.warnings.push_back("unrecognized environment variable " + key + "=" + value);
  }
  for (const auto& flag : flag_table()) {  // table order: a later flag may depend on an earlier one
    auto it = from_flags.find(flag.name);
    if (it != from_flags.end() && !apply(flag, it->second, "--" + it->first)) return result;
  }
  if (auto error = finish(config, given); !error.empty()) {
    result.error = error;
    return result;
  }
  result.config = std::move(config);
  return result;
}

environment environment_from_process() {
  environment env;
  for (char** entry = environ; entry && *entry; ++entry) {
    std::string text = *entry;
    auto eq = text.find('=');
    if (eq != std::string::npos) env[text.substr(0, eq)] = text.substr(eq + 1);
  }
  return env;
}

std::string config_help_text() {
  std::string text =
      "Usage:\n\n  ringkv [flags]\n    Start a ringkv server (etcd v3 API).\n\n"
      "  ringkv --version\n    Show the version of ringkv.\n\n"
      "  ringkv -h | --help\n    Show this help.\n\n"
      "Every flag can also be set by an environment variable: --data-dir is ETCD_DATA_DIR.\n"
      "Command-line flags take precedence over environment variables.\n\nFlags:\n";
  for (const auto& flag : flag_table()) {
    text += "  --";
    text += flag.name;
    text += " '";
    text += flag.default_value;
    text += "'\n    ";
    text += flag.help;
    text += "\n";
  }
  return text;
}

// "[::1]" or "127.0.0.1" followed by ":port": what net::endpoint::parse reads.
std::optional<net::endpoint> bind_endpoint(const url_endpoint& url) {
  std::string address = url.bind_address.find(':') != std::string::npos ? "[" + url.bind_address + "]"
                                                                        : url.bind_address;
  return net::endpoint::parse(address + ":" + std::to_string(url.port));
}

}  // namespace ringkv::server
