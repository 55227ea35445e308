// server/common/etcd_flags_unbuilt.cc — the rows of etcd 3.4's flags that ringkv does not build (see
// flag_spec.h): each one either has no effect here, with the reason in the warning, or refuses the start
// because what it asks for matters and is missing. Values that ask for what ringkv does anyway are inert.
// TLS flags are not listed here: they belong to the TLS configuration (tls_flags.h).
#include <charconv>
#include <cstdint>

#include "server/common/flag_spec.h"
#include "server/common/go_values.h"

namespace ringkv::server {
namespace {

constexpr value_kind text = value_kind::text;
constexpr value_kind boolean = value_kind::boolean;
constexpr value_kind integer = value_kind::integer;
constexpr value_kind duration = value_kind::duration;
constexpr value_kind list = value_kind::list;

bool is_integer(const std::string& text, int64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

std::vector<std::string> split_choices(std::string_view choices) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= choices.size()) {
    size_t end = choices.find('|', start);
    if (end == std::string_view::npos) end = choices.size();
    parts.emplace_back(choices.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

// Two spellings of one value of `kind` mean the same (both must be well-formed).
bool same_value(value_kind kind, const std::string& a, const std::string& b) {
  switch (kind) {
    case value_kind::boolean: return parse_go_bool(a) && parse_go_bool(a) == parse_go_bool(b);
    case value_kind::duration: return parse_go_duration(a) && parse_go_duration(a) == parse_go_duration(b);
    case value_kind::integer: {
      int64_t x = 0, y = 0;
      return is_integer(a, x) && is_integer(b, y) && x == y;
    }
    case value_kind::text:
    case value_kind::list: return a == b;
  }
  return false;
}

flag_spec no_effect(const char* name, const char* default_value, const char* help, value_kind kind,
                    const char* why, const char* inert_values = "", const char* choices = "") {
  return {name, default_value, help, check_only(kind, choices), kind, flag_support::no_effect, why, inert_values};
}

flag_spec not_built(const char* name, const char* default_value, const char* help, value_kind kind,
                    const char* why, const char* inert_values = "", const char* choices = "") {
  return {name, default_value, help, check_only(kind, choices), kind, flag_support::not_built, why, inert_values};
}

// etcd's IgnoredFlag: a bare boolean on the command line that also takes (and drops) any value after '='.
flag_spec ignored(const char* name) {
  return {name, "", "", check_only(value_kind::text), value_kind::boolean, flag_support::no_effect,
          "no longer supported by etcd either, which ignores it too", ""};
}

constexpr const char* no_bbolt =
    "ringkv has no bbolt backend: the key space lives in memory, made durable by the WAL (fdatasync before "
    "every acknowledgement) and snapshots";
constexpr const char* no_v2_proxy = "used only by etcd's v2 proxy, which ringkv does not build";

}  // namespace

flag_setter check_only(value_kind kind, const char* choices) {
  return [kind, choices](server_config&, const std::string& value) -> std::string {
    int64_t number = 0;
    if (kind == value_kind::boolean && !parse_go_bool(value))
      return "invalid boolean '" + value + "' (true or false)";
    if (kind == value_kind::duration && !parse_go_duration(value))
      return "invalid duration '" + value + "' (e.g. 300ms, 1.5h, 1h2m3s)";
    if (kind == value_kind::integer && !is_integer(value, number)) return "invalid number '" + value + "'";
    if (*choices) {
      for (const auto& choice : split_choices(choices))
        if (value == choice) return "";
      return "must be one of " + std::string(choices) + ", got '" + value + "'";
    }
    return "";
  };
}

bool is_inert(const flag_spec& flag, const std::string& value) {
  // An empty text is an unset one (etcd's string flags default to ""), e.g. ETCD_WAL_DIR= in /etc/default.
  if (value.empty() && (flag.kind == value_kind::text || flag.kind == value_kind::list)) return true;
  if (!*flag.inert_values) return false;
  for (const auto& inert : split_choices(flag.inert_values))
    if (same_value(flag.kind, value, inert)) return true;
  return false;
}

std::vector<flag_spec> unbuilt_flag_specs() {
  return {
      // Member
      not_built("wal-dir", "", "Path to the dedicated wal directory.", text,
                "a dedicated WAL directory is not built: ringkv keeps its WAL in <data-dir>/member/wal"),
      no_effect("initial-election-tick-advance", "true",
                "Whether to fast-forward initial election ticks on boot for faster election.", boolean,
                "ringkv's first election waits one randomized election timeout, and PreVote keeps a "
                "(re)starting member from disturbing a leader"),
      no_effect("max-snapshots", "5", "Maximum number of snapshot files to retain (0 is unlimited).", integer,
                "ringkv keeps the newest 3 snapshot files and removes older ones itself"),
      no_effect("max-wals", "5", "Maximum number of wal files to retain (0 is unlimited).", integer,
                "ringkv releases WAL segments as soon as a snapshot covers them"),
      no_effect("backend-batch-interval", "", "Maximum time before commit the backend transaction.", duration,
                no_bbolt),
      no_effect("backend-batch-limit", "0", "Maximum operations before commit the backend transaction.", integer,
                no_bbolt),
      // Clustering
      no_effect("strict-reconfig-check", "true", "Reject reconfiguration requests that would cause quorum loss.",
                boolean, "ringkv always rejects reconfigurations that would lose quorum", "true"),
      no_effect("pre-vote", "false", "Enable to run an additional Raft election phase.", boolean,
                "ringkv's raft always runs the PreVote phase", "true"),
      not_built("enable-v2", "false", "Accept etcd V2 client requests.", boolean,
                "the etcd v2 API is not built: ringkv serves the v3 API only", "false"),
      not_built("experimental-enable-v2v3", "", "Serve v2 requests through the v3 backend under a given prefix.",
                text, "the etcd v2 API is not built: ringkv serves the v3 API only"),
      // Security (the TLS flags belong to the TLS configuration)
      not_built("cors", "*", "Comma-separated whitelist of origins for CORS (empty or * means allow all).", list,
                "ringkv has no per-origin CORS filter: only '*' (allow all) is built", "|*"),
      not_built("host-whitelist", "*",
                "Acceptable hostnames from HTTP client requests, if server is not secure (empty or * means allow "
                "all).",
                list, "ringkv does not check the Host header: only '*' (allow all) is built", "|*"),
      // Auth
      // Profiling and monitoring
      no_effect("enable-pprof", "false", "Enable runtime profiling data via HTTP server.", boolean,
                "ringkv has no Go runtime to profile (use perf(1) on the process)", "false"),
      no_effect("metrics", "basic", "Set level of detail for exported metrics ('basic' or 'extensive').", text,
                "ringkv exports one metric set (GET /metrics on the client URLs) at either level", "basic",
                "basic|extensive"),
      not_built("listen-metrics-urls", "", "List of URLs to listen on for the metrics and health endpoints.", list,
                "a separate metrics listener is not built: /metrics and /health are served on the client URLs"),
      // Logging
      no_effect("logger", "capnslog", "Specify 'zap' for structured logging or 'capnslog'.", text,
                "ringkv always writes zap's structured JSON lines", "zap", "capnslog|zap"),
      no_effect("log-package-levels", "", "Specify a particular log level for each etcd package.", text,
                "capnslog's per-package levels do not exist in ringkv: it has one --log-level"),
      // v2 proxy
      not_built("proxy", "off", "Proxy mode setting ('off', 'readonly' or 'on').", text,
                "etcd's v2 proxy is not built", "off", "off|readonly|on"),
      no_effect("proxy-failure-wait", "5000", "Time (in milliseconds) an endpoint will be held in a failed state.",
                integer, no_v2_proxy),
      no_effect("proxy-refresh-interval", "30000", "Time (in milliseconds) of the endpoints refresh interval.",
                integer, no_v2_proxy),
      no_effect("proxy-dial-timeout", "1000", "Time (in milliseconds) for a dial to timeout.", integer, no_v2_proxy),
      no_effect("proxy-write-timeout", "5000", "Time (in milliseconds) for a write to timeout.", integer,
                no_v2_proxy),
      no_effect("proxy-read-timeout", "0", "Time (in milliseconds) for a read to timeout.", integer, no_v2_proxy),
      // Experimental and unsafe
      not_built("experimental-initial-corrupt-check", "false",
                "Enable to check data corruption before serving any client/peer traffic.", boolean,
                "the corruption check against the other members' hashes is not built", "false"),
      not_built("experimental-corrupt-check-time", "0s", "Duration of time between cluster corruption check passes.",
                duration, "the periodic corruption check against the other members' hashes is not built", "0"),
      no_effect("experimental-backend-bbolt-freelist-type", "array",
                "The type of freelist that boltdb backend uses (array and map are supported types).", text, no_bbolt,
                "", "array|map"),
      not_built("experimental-enable-lease-checkpoint", "false",
                "Enable leader to send regular checkpoints to other members to prevent reset of remaining TTL on "
                "leader change.",
                boolean,
                "lease checkpoints are not built: after a leader change a lease's TTL starts again in full, as "
                "in etcd without this flag",
                "false"),
      not_built("experimental-enable-lease-checkpoint-persist", "false",
                "Enable persisting remainingTTL to prevent indefinite auto-renewal of long lived leases.", boolean,
                "lease checkpoints are not built", "false"),
      no_effect("experimental-compaction-batch-limit", "1000",
                "Sets the maximum revisions deleted in each compaction batch.", integer, no_bbolt),
      no_effect("experimental-warning-apply-duration", "100ms",
                "Time duration after which a warning is generated if request takes more time.", duration,
                "ringkv writes no slow-apply warning"),
      no_effect("unsafe-no-fsync", "false", "Disables fsync, unsafe, will cause data loss.", boolean,
                "ringkv always fdatasyncs its WAL before it acknowledges a write", "false"),
      not_built("force-new-cluster", "false", "Force to create a new one-member cluster.", boolean,
                "forcing a one-member cluster out of an existing data dir is not built; make a new data dir from "
                "a snapshot with `ringkv snapshot restore` instead",
                "false"),
      no_effect("enable-grpc-gateway", "true", "Enable GRPC gateway.", boolean,
                "the JSON gateway (/v3/...) is always served on the client URLs", "true"),
      // Flags etcd itself accepts and ignores (etcdmain/config.go: ignored), as bare booleans.
      ignored("cluster-active-size"),
      ignored("cluster-remove-delay"),
      ignored("cluster-sync-interval"),
      ignored("config"),
      ignored("force"),
      ignored("max-result-buffer"),
      ignored("max-retry-attempts"),
      ignored("peer-heartbeat-interval"),
      ignored("peer-election-timeout"),
      ignored("retry-interval"),
      ignored("snapshot"),
      ignored("v"),
      ignored("vv"),
  };
}

}  // namespace ringkv::server
