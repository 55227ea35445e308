// server/common/config.h — the node's configuration: every tunable in one validated struct, parsed from
// etcd-named command-line flags (`--name`, `--data-dir`, ...) and ETCD_* environment variables
// (flags win over the environment, as in etcd), or from etcd's YAML config file (`--config-file` or
// ETCD_CONFIG_FILE: then, as in etcd, the other flags and variables are ignored, with a warning).
// Every etcd 3.4 flag is known: built, accepted with a warning saying why it has no effect, or refused
// as not built (server/common/flag_spec.h). Values are read as Go reads them (go_values.h). Defaults
// are etcd 3.4's, except that a bare `localhost` in a URL binds 127.0.0.1 and the data dir is
// "${name}.ringkv".
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "net/tcp/endpoint.h"
#include "runtime/backend.h"
#include "runtime/log.h"
#include "server/common/tls_flags.h"

namespace ringkv::server {

using log::log_level;  // --log-level (runtime/log.h owns the levels)
using log::parse_log_level;

// One http://host:port URL from a --*-urls flag. `host` keeps the spelling used in the URL (for
// advertising); `bind_address` is the numeric address to bind ("localhost" -> 127.0.0.1).
struct url_endpoint {
  std::string url;           // as written, e.g. "http://localhost:2379"
  std::string scheme;        // "http" or "https" (tls_flags.h)
  std::string host;          // "localhost", "127.0.0.1", "::1"
  std::string bind_address;  // "127.0.0.1", "::1", "0.0.0.0"
  uint16_t port = 0;
};

// "[::1]" or "127.0.0.1" followed by ":port": the address a URL's listener binds.
std::optional<net::endpoint> bind_endpoint(const url_endpoint& url);

enum class cluster_state { new_cluster, existing_cluster };

// --log-outputs: where the log lines go, as etcd 3.4 with --logger=zap: 'default' and 'stderr' (under
// systemd, stderr reaches the journal), 'stdout', a file path (appended to, created 0640), or
// 'systemd/journal' (journald's native protocol; alone, as etcd; start fails when journald cannot be
// reached). Several outputs at once get every line; '/dev/null' among them discards every line (zap).
struct log_destination {
  enum class kind { standard_error, standard_output, file, journal };
  kind to = kind::standard_error;
  std::string path;  // kind::file only
  bool operator==(const log_destination&) const = default;
};
enum class compaction_mode { periodic, revision };

// --auth-token jwt,pub-key=<file>,priv-key=<file>,sign-method=<alg>,ttl=<duration> (etcd 3.4's auth/options.go):
// the files are read and their keys checked at the start (server/auth/jwt_tokens.h).
struct jwt_token_options {
  std::string sign_method;       // RS256..512, PS256..512, ES256..512, HS256..512; empty: simple tokens
  std::string public_key_file;   // may be empty when priv_key_file is given (and vice versa: verify only)
  std::string private_key_file;
  std::chrono::nanoseconds ttl = std::chrono::minutes(5);  // etcd's DefaultTTL
};

struct server_config {
  std::string name = "default";
  std::string data_dir;  // empty in the flags means "${name}.ringkv"
  std::vector<url_endpoint> listen_client_urls;
  std::vector<url_endpoint> advertise_client_urls;
  std::vector<url_endpoint> listen_peer_urls;
  std::vector<url_endpoint> initial_advertise_peer_urls;
  std::map<std::string, std::vector<std::string>> initial_cluster;  // member name -> peer URLs
  std::string initial_cluster_token = "etcd-cluster";
  cluster_state initial_cluster_state = cluster_state::new_cluster;
  uint64_t snapshot_count = 100000;
  int64_t quota_backend_bytes = 0;  // as given; 0 means the default (see effective_quota_bytes)
  uint64_t max_request_bytes = 1572864;
  uint64_t max_txn_ops = 128;
  uint64_t max_concurrent_streams = 4294967295ULL;
  // gRPC keepalive, as etcd 3.4 hands them to grpc-go: min-time 0 means grpc-go's default policy (5 min);
  // interval or timeout 0 means grpc-go's defaults for both (2h, 20s).
  std::chrono::milliseconds grpc_keepalive_min_time{5'000};
  std::chrono::milliseconds grpc_keepalive_interval{std::chrono::hours(2)};
  std::chrono::milliseconds grpc_keepalive_timeout{20'000};
  compaction_mode auto_compaction_mode = compaction_mode::periodic;
  std::string auto_compaction_retention = "0";
  std::chrono::milliseconds heartbeat_interval{100};
  std::chrono::milliseconds election_timeout{1000};
  // Idle watchers created with progress_notify get an empty WatchResponse after this long (etcd 3.4:
  // --experimental-watch-progress-notify-interval, default 10m).
  std::chrono::milliseconds watch_progress_notify_interval{std::chrono::minutes(10)};
  std::chrono::milliseconds wal_sync_delay{0};  // testing only: a slow disk (--experimental-wal-sync-delay)
  log_level level = log_level::info;
  std::vector<log_destination> log_outputs{log_destination{}};  // at least one; stderr by default
  std::string config_file;  // the YAML file the settings came from; empty when from flags/ETCD_*
  unsigned shards = 0;  // 0 means one per online core
  // --io-backend: auto (io_uring, epoll when io_uring is refused; RINGKV_IO_BACKEND may choose), uring, epoll.
  runtime::io_backend io_backend = runtime::io_backend::automatic;
  // Bootstrapping through a discovery service or DNS SRV instead of --initial-cluster
  // (server/bootstrap/initial_cluster.h); at most one of the three is given.
  std::string discovery_url;             // --discovery: http(s)://host:port/<token path> (etcd's v2 protocol)
  std::string discovery_proxy;           // --discovery-proxy: an HTTP proxy for the discovery service
  bool discovery_fallback_proxy = true;  // --discovery-fallback proxy (etcd's default) | exit: both exit here
  std::string discovery_srv;             // --discovery-srv: the DNS domain of the SRV records
  std::string discovery_srv_name;        // --discovery-srv-name: suffix of the SRV service name
  // Auth (server/auth): --auth-token 'simple' or 'jwt,...' (jwt_token_options), --bcrypt-cost, --auth-token-ttl.
  jwt_token_options auth_jwt;  // sign_method empty: simple tokens
  int bcrypt_cost = 10;
  std::chrono::seconds auth_token_ttl{300};
  client_tls_config client_tls;  // --cert-file, --key-file, ... (tls_flags.h)
  peer_tls_config peer_tls;      // --peer-cert-file, --peer-key-file, ... (tls_flags.h)

  int64_t effective_quota_bytes() const;  // 2 GiB when quota_backend_bytes == 0 (etcd's default)
  // Auto-compaction: retention as a duration (periodic) or a revision count (revision); 0 = off.
  std::chrono::seconds compaction_period() const;
  int64_t compaction_revisions() const;
};

inline constexpr int64_t default_quota_bytes = int64_t{2} << 30;
inline constexpr int64_t max_quota_bytes = int64_t{8} << 30;  // etcd warns above this

struct config_parse_result {
  std::optional<server_config> config;  // set when the flags were valid and no --help/--version
  std::string error;                    // human-readable, names the flag; empty when ok
  std::vector<std::string> warnings;    // e.g. unrecognized ETCD_* variables, shadowed variables
  bool show_help = false;
  bool show_version = false;
};

using environment = std::map<std::string, std::string>;

// Parses argv[1..] (argv[0] is the program) and the ETCD_* entries of `env`.
config_parse_result parse_config(const std::vector<std::string>& args, const environment& env);
environment environment_from_process();  // reads `environ`
std::string config_help_text();          // the --help listing: every flag with default and meaning


}  // namespace ringkv::server
