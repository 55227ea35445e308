// server/common/config.cc — flag/environment/config-file parsing and validation for server_config. One
// table lists every flag (name, default, help, setter, support): the built flags are here, etcd's
// others in etcd_flags_unbuilt.cc; --help, ETCD_* lookup, the config file and parsing are all driven by it.
#include "server/common/config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <functional>
#include <set>
#include <thread>

#include "runtime/flag_tokens.h"
#include "server/common/config_file.h"
#include "server/common/flag_spec.h"
#include "server/common/go_values.h"

extern char** environ;

namespace ringkv::server {
namespace {

// --auth-token as etcd 3.4's decomposeOpts and jwtOptions.Parse: "<type>[,name=value]...", each option
// once; "jwt" needs a known sign-method and a key file; unknown options are ignored (etcd warns).
std::string parse_auth_token(server_config& c, const std::string& v) {
  std::vector<std::string> parts;
  for (size_t start = 0;;) {
    size_t comma = v.find(',', start);
    parts.push_back(v.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  std::map<std::string, std::string> options;
  for (size_t i = 1; i < parts.size(); ++i) {
    size_t equals = parts[i].find('=');
    if (equals == std::string::npos || parts[i].find('=', equals + 1) != std::string::npos)
      return "auth: invalid auth options (option '" + parts[i] + "' is not name=value)";
    if (!options.emplace(parts[i].substr(0, equals), parts[i].substr(equals + 1)).second)
      return "auth: invalid auth options (duplicated parameter " + parts[i].substr(0, equals) + ")";
  }
  c.auth_jwt = {};
  if (parts[0] == "simple") return "";
  if (parts[0] != "jwt") return "auth: invalid auth options (unknown token type '" + parts[0] + "')";
  static const std::set<std::string, std::less<>> methods = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                                                             "ES256", "ES384", "ES512", "HS256", "HS384", "HS512"};
  if (!methods.contains(options["sign-method"])) return "auth: invalid auth signature method";
  if (!options["ttl"].empty()) {
    auto ttl = parse_go_duration(options["ttl"]);
    if (!ttl) return "time: invalid duration \"" + options["ttl"] + "\"";
    c.auth_jwt.ttl = *ttl;
  }
  if (options["pub-key"].empty() && options["priv-key"].empty()) return "auth: missing key data";
  c.auth_jwt.sign_method = options["sign-method"];
  c.auth_jwt.public_key_file = options["pub-key"];
  c.auth_jwt.private_key_file = options["priv-key"];
  return "";
}

using setter = flag_setter;

template <typename Int>
std::string parse_int(const std::string& text, Int& out, Int min_value) {
  Int value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return "invalid number '" + text + "'";
  if (value < min_value) return "must be at least " + std::to_string(min_value) + ", got " + text;
  out = value;
  return "";
}

// A Go duration (go_values.h), or, as etcd's --auto-compaction-retention, a bare integer in `bare_unit`.
std::optional<std::chrono::milliseconds> parse_duration(const std::string& text,
                                                        std::chrono::milliseconds bare_unit) {
  if (!text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return std::isdigit(uint8_t(c)); })) {
    int64_t count = 0;
    if (!parse_int<int64_t>(text, count, 0).empty()) return std::nullopt;
    return bare_unit * count;
  }
  auto duration = parse_go_duration(text);
  if (!duration) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::milliseconds>(*duration);
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

// A Go duration ("5s", "2h", "1m30s"); 0 is allowed (etcd then uses grpc-go's default).
setter go_duration_field(std::chrono::milliseconds server_config::*field) {
  return [field](server_config& config, const std::string& text) -> std::string {
    auto duration = parse_go_duration(text);
    if (!duration || duration->count() < 0) return "must be a duration (e.g. 5s, 2h), got '" + text + "'";
    config.*field = std::chrono::duration_cast<std::chrono::milliseconds>(*duration);
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

// --log-outputs / --log-output: etcd 3.4's rules with --logger=zap (embed/config_logging.go): 'default'
// and 'systemd/journal' only alone; '/dev/null' among files discards every line (zap's MergeOutputPaths).
std::string set_log_outputs(server_config& config, const std::string& text) {
  std::vector<std::string> outputs;
  for (const auto& part : split(text, ','))
    if (!part.empty() && std::find(outputs.begin(), outputs.end(), part) == outputs.end()) outputs.push_back(part);
  if (outputs.empty()) return "needs one output";
  const auto named = [&outputs](const char* name) { return std::find(outputs.begin(), outputs.end(), name) != outputs.end(); };
  if (outputs.size() > 1 && named("default")) return "multi logoutput for \"default\" is not supported yet";
  if (outputs.size() > 1 && named("systemd/journal"))
    return "'systemd/journal' must be the only log output (as in etcd 3.4), got '" + text + "'";
  if (named("/dev/null")) outputs = {"/dev/null"};
  config.log_outputs.clear();
  for (const auto& output : outputs) {
    if (output == "default" || output == "stderr") config.log_outputs.push_back({log_destination::kind::standard_error, ""});
    else if (output == "stdout") config.log_outputs.push_back({log_destination::kind::standard_output, ""});
    else if (output == "systemd/journal") config.log_outputs.push_back({log_destination::kind::journal, ""});
    else config.log_outputs.push_back({log_destination::kind::file, output});
  }
  return "";
}

std::vector<flag_spec> built_flag_specs() {
  return {
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
      {"discovery", "", "Discovery URL used to bootstrap the cluster (etcd's v2 discovery protocol).",
       [](server_config& c, const std::string& v) -> std::string {
         if (!v.empty() && v.rfind("http://", 0) != 0 && v.rfind("https://", 0) != 0)
           return "'" + v + "' is not an http:// or https:// URL";
         c.discovery_url = v;
         return "";
       }},
      {"discovery-fallback", "proxy",
       "Expected behavior ('exit' or 'proxy') when discovery services fails. ringkv has no v2 proxy: "
       "with a full discovery cluster both exit.",
       [](server_config& c, const std::string& v) -> std::string {
         if (v != "exit" && v != "proxy") return "must be 'exit' or 'proxy', got '" + v + "'";
         c.discovery_fallback_proxy = v == "proxy";
         return "";
       }},
      {"discovery-proxy", "", "HTTP proxy to use for traffic to discovery service.",
       [](server_config& c, const std::string& v) -> std::string {
         c.discovery_proxy = v;
         return "";
       }},
      {"discovery-srv", "", "DNS srv domain used to bootstrap the cluster.",
       [](server_config& c, const std::string& v) -> std::string {
         c.discovery_srv = v;
         return "";
       }},
      {"discovery-srv-name", "", "Suffix to the dns srv name queried when bootstrapping.",
       [](server_config& c, const std::string& v) -> std::string {
         c.discovery_srv_name = v;
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
      {"auth-token", "simple", "Specify a v3 authentication token type and its options ('simple' or 'jwt,pub-key=...,priv-key=...,sign-method=...,ttl=...').",
       parse_auth_token},
      {"bcrypt-cost", "10", "Specify the cost / strength of the bcrypt algorithm for hashing auth passwords (4-31).",
       [](server_config& c, const std::string& v) -> std::string {
         if (auto error = parse_int<int>(v, c.bcrypt_cost, 4); !error.empty()) return error;
         return c.bcrypt_cost <= 31 ? "" : "must be at most 31 (bcrypt's largest cost), got '" + v + "'";
       }},
      {"auth-token-ttl", "300", "Time (in seconds) of the auth-token-ttl.",
       [](server_config& c, const std::string& v) -> std::string {
         int64_t seconds = 0;
         if (auto error = parse_int<int64_t>(v, seconds, 1); !error.empty()) return error;
         c.auth_token_ttl = std::chrono::seconds(std::min<int64_t>(seconds, int64_t{1} << 40));
         return "";
       }},
      {"max-concurrent-streams", "4294967295", "Maximum concurrent streams that each client can open.",
       int_field<uint64_t>(&server_config::max_concurrent_streams, 1)},
      {"grpc-keepalive-min-time", "5s", "Minimum duration interval that a client should wait before pinging server.",
       go_duration_field(&server_config::grpc_keepalive_min_time), value_kind::duration},
      {"grpc-keepalive-interval", "2h",
       "Frequency duration of server-to-client ping to check if a connection is alive (0 to disable).",
       go_duration_field(&server_config::grpc_keepalive_interval), value_kind::duration},
      {"grpc-keepalive-timeout", "20s",
       "Additional duration of wait before closing a non-responsive connection (0 to disable).",
       go_duration_field(&server_config::grpc_keepalive_timeout), value_kind::duration},
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
         auto interval = parse_go_duration(v);
         if (!interval || *interval < std::chrono::milliseconds(1))
           return "must be a duration of at least 1ms (e.g. 10m, 500ms), got '" + v + "'";
         c.watch_progress_notify_interval = std::chrono::duration_cast<std::chrono::milliseconds>(*interval);
         return "";
       },
       value_kind::duration},
      {"experimental-wal-sync-delay", "0ms",
       "Testing only: wait this long after every WAL fdatasync before acknowledging, to act as a slow disk.",
       [](server_config& c, const std::string& v) -> std::string {
         auto delay = parse_go_duration(v);
         if (!delay || delay->count() < 0) return "must be a duration (e.g. 0ms, 800ms), got '" + v + "'";
         c.wal_sync_delay = std::chrono::duration_cast<std::chrono::milliseconds>(*delay);
         return "";
       },
       value_kind::duration},
      {"log-level", "info", "Configures log level. Only supports debug, info, warn, error, panic, or fatal.",
       [](server_config& c, const std::string& v) -> std::string {
         auto level = parse_log_level(v);
         if (!level) return "must be one of debug, info, warn, error, panic, fatal; got '" + v + "'";
         c.level = *level;
         return "";
       }},
      {"debug", "false", "Enable debug-level logging (as --log-level=debug; etcd deprecates it in v3.5).",
       [](server_config& c, const std::string& v) -> std::string {
         auto debug = parse_go_bool(v);
         if (!debug) return "invalid boolean '" + v + "' (true or false)";
         if (*debug) c.level = log_level::debug;
         return "";
       },
       value_kind::boolean},
      {"log-outputs", "default",
       "Comma-separated outputs: 'default' or 'stderr' (under systemd: the journal), 'stdout', file paths, or "
       "'systemd/journal' alone (journald's native protocol).",
       set_log_outputs, value_kind::list},
      {"log-output", "default", "Deprecated: use --log-outputs.", set_log_outputs, value_kind::list},
      {"config-file", "", "Path to etcd's YAML configuration file. When given, the other command-line flags and "
       "ETCD_* environment variables are ignored (as in etcd).",
       [](server_config& c, const std::string& v) -> std::string {
         c.config_file = v;
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
  };
}

// Built flags first (table order is application order: a later flag may depend on an earlier one).
const std::vector<flag_spec>& flag_table() {
  static const std::vector<flag_spec> table = [] {
    std::vector<flag_spec> all = built_flag_specs();
    // The flags ringkv does not build (etcd_flags_unbuilt.cc), then the TLS flags (tls_flags.h).
    for (auto& flag : unbuilt_flag_specs()) all.push_back(std::move(flag));
    for (const auto& flag : tls_flag_table()) {
      const bool listed = std::any_of(all.begin(), all.end(), [&](const flag_spec& f) { return std::string_view(f.name) == flag.name; });
      if (!listed) all.push_back({flag.name, flag.default_value, flag.help, flag.set, flag.boolean ? value_kind::boolean : value_kind::text});
    }
    return all;
  }();
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
  if (int(!config.discovery_url.empty()) + int(!config.initial_cluster.empty()) + int(!config.discovery_srv.empty()) > 1)
    return "multiple discovery or bootstrap flags are set. Choose one of \"initial-cluster\", \"discovery\" or "
           "\"discovery-srv\"";
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

// One flag's value and where it came from: "--name", "ETCD_NAME" or "config file key 'name'".
struct given_value {
  std::string value;
  std::string origin;
};
using given_values = std::map<std::string, given_value>;  // flag name -> value

// Sets one given flag; a flag that is not built refuses (error), one without effect adds a warning.
bool apply(const flag_spec& flag, const given_value& given, server_config& config, config_parse_result& result) {
  if (auto error = flag.set(config, given.value); !error.empty()) {
    result.error = "invalid value for " + given.origin + ": " + error;
    return false;
  }
  if (flag.support == flag_support::built || is_inert(flag, given.value)) return true;
  const std::string what = given.origin + "='" + given.value + "'";
  if (flag.support == flag_support::not_built) {
    result.error = what + " is not built in ringkv: " + flag.why;
    return false;
  }
  result.warnings.push_back(what + " has no effect in ringkv: " + flag.why);
  return true;
}

// ETCD_* variables, under the command line's flags (a shadowed one is named in a warning).
bool values_from_environment(const environment& env, given_values& values, config_parse_result& result) {
  for (const auto& [key, value] : env) {
    if (key.rfind("ETCD_", 0) != 0) continue;
    const flag_spec* match = nullptr;
    for (const auto& flag : flag_table())
      if (env_name(flag.name) == key) match = &flag;
    if (!match) {
      result.warnings.push_back("unrecognized environment variable " + key + "=" + value);
    } else if (values.count(match->name)) {
      result.warnings.push_back("conflicting environment variable " + key +
                                " is shadowed by corresponding command-line flag --" + match->name);
    } else {
      values[match->name] = {value, key};
    }
  }
  return true;
}

// etcd's rule: a config file replaces every other flag and ETCD_* variable; ringkv names what it ignores.
bool values_from_config_file(const std::string& path, const environment& env, given_values& values,
                             config_parse_result& result) {
  config_file_entries file = read_config_file(path, [](std::string_view name) -> std::optional<value_kind> {
    const flag_spec* flag = find_flag(name);
    if (!flag || name == "config-file") return std::nullopt;
    return flag->kind;
  });
  if (!file.error.empty()) {
    result.error = "cannot use config file '" + path + "': " + file.error;
    return false;
  }
  std::vector<std::string> ignored;
  for (const auto& [name, given] : values)
    if (name != "config-file") ignored.push_back(given.origin);
  for (const auto& [key, value] : env)
    if (key.rfind("ETCD_", 0) == 0 && key != "ETCD_CONFIG_FILE") ignored.push_back(key);
  if (!ignored.empty()) {
    std::string names;
    for (const auto& name : ignored) names += (names.empty() ? "" : ", ") + name;
    result.warnings.push_back("loaded server configuration from '" + path +
                              "': other command-line flags and environment variables are ignored (" + names + ")");
  }
  result.warnings.insert(result.warnings.end(), file.warnings.begin(), file.warnings.end());
  values.clear();
  for (auto& [name, value] : file.values) values[name] = {value, "config file key '" + name + "'"};
  return true;
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
  for (const auto& flag : flag_table())  // defaults first (placeholders are filled in by finish())
    if (flag.default_value[0] != '$') flag.set(config, flag.default_value);

  auto arity = [](std::string_view name) {
    if (name == "h" || name == "help" || name == "version") return runtime::flag_arity::boolean;
    const flag_spec* flag = find_flag(name);
    if (!flag) return runtime::flag_arity::undefined;
    return flag->kind == value_kind::boolean ? runtime::flag_arity::boolean : runtime::flag_arity::takes_value;
  };
  const runtime::flag_tokens tokens =
      tokenize_flags(std::span(args).subspan(std::min<size_t>(1, args.size())), arity, runtime::flag_dialect::go_flag);
  for (const auto& token : tokens.tokens) {  // -h and --version win over any error, as in etcd
    if (token.name == "h" || token.name == "help") { result.show_help = true; return result; }
    if (token.name == "version") { result.show_version = true; return result; }
  }
  if (!tokens.ok()) { result.error = tokens.error; return result; }
  given_values values;
  for (const auto& token : tokens.tokens) {
    if (token.positional()) {
      result.error = "unexpected argument '" + *token.value + "' (flags look like --name value)";
      return result;
    }
    values[token.name] = {token.value.value_or("true"), "--" + token.name};  // a bare flag is a boolean's true
  }
  std::string config_file = values.count("config-file") ? values["config-file"].value : "";
  if (config_file.empty() && env.count("ETCD_CONFIG_FILE")) config_file = env.at("ETCD_CONFIG_FILE");
  if (!config_file.empty()) {
    if (!values_from_config_file(config_file, env, values, result)) return result;
  } else if (!values_from_environment(env, values, result)) {
    return result;
  }
  std::set<std::string> given;
  for (const auto& flag : flag_table()) {  // table order: a later flag may depend on an earlier one
    auto it = values.find(flag.name);
    if (it == values.end()) continue;
    if (!apply(flag, it->second, config, result)) return result;
    given.insert(flag.name);
  }
  config.config_file = config_file;
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
      "  ringkv --config-file FILE\n    Read the settings from etcd's YAML configuration file (keys are the flag "
      "names);\n    the other command-line flags and environment variables are then ignored, as in etcd.\n\n"
      "  ringkv snapshot status|restore ...\n    Inspect a snapshot file, or make a data dir from one.\n\n"
      "Every flag can also be set by an environment variable: --data-dir is ETCD_DATA_DIR.\n"
      "Command-line flags take precedence over environment variables. Booleans: --flag, --flag=true|false.\n"
      "Durations are Go's: 300ms, 1.5h, 1h2m3s.\n\nFlags:\n";
  std::string ignored;
  for (const auto& flag : flag_table()) {
    if (!*flag.help) {  // etcd's ignored flags: listed together below
      ignored += (ignored.empty() ? "  --" : ", --") + std::string(flag.name);
      continue;
    }
    text += "  --" + std::string(flag.name) + " '" + flag.default_value + "'\n    " + flag.help + "\n";
    if (flag.support == flag_support::no_effect) text += "    [no effect in ringkv: " + std::string(flag.why) + "]\n";
    if (flag.support == flag_support::not_built && *flag.inert_values)
      text += "    [not built in ringkv, only '" + std::string(flag.inert_values) + "' is accepted: " + flag.why + "]\n";
    else if (flag.support == flag_support::not_built)
      text += "    [not built in ringkv, refused when set: " + std::string(flag.why) + "]\n";
  }
  text += "\nAccepted and ignored, as etcd 3.4 does:\n" + ignored + "\n";
  return text;
}

// "[::1]" or "127.0.0.1" followed by ":port": what net::endpoint::parse reads.
std::optional<net::endpoint> bind_endpoint(const url_endpoint& url) {
  std::string address = url.bind_address.find(':') != std::string::npos ? "[" + url.bind_address + "]"
                                                                        : url.bind_address;
  return net::endpoint::parse(address + ":" + std::to_string(url.port));
}

}  // namespace ringkv::server
