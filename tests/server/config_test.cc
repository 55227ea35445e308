// tests/server/config_test.cc — flag, ETCD_* and config-file parsing, etcd's defaults, Go's value syntax,
// every etcd 3.4 flag known (built, no effect with a warning, or refused as not built), validation errors.
#include "server/common/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "server/common/go_values.h"

namespace ringkv::server {
namespace {

config_parse_result parse(std::vector<std::string> flags, environment env = {}) {
  flags.insert(flags.begin(), "ringkv");
  return parse_config(flags, env);
}

TEST(Config, DefaultsMatchEtcd) {
  auto result = parse({});
  ASSERT_TRUE(result.config) << result.error;
  const server_config& c = *result.config;
  EXPECT_EQ(c.name, "default");
  EXPECT_EQ(c.data_dir, "default.ringkv");
  ASSERT_EQ(c.listen_client_urls.size(), 1u);
  EXPECT_EQ(c.listen_client_urls[0].bind_address, "127.0.0.1");
  EXPECT_EQ(c.listen_client_urls[0].port, 2379);
  EXPECT_EQ(c.advertise_client_urls[0].url, "http://localhost:2379");
  EXPECT_EQ(c.listen_peer_urls[0].port, 2380);
  EXPECT_EQ(c.initial_cluster.at("default"), std::vector<std::string>{"http://localhost:2380"});
  EXPECT_EQ(c.initial_cluster_token, "etcd-cluster");
  EXPECT_EQ(c.initial_cluster_state, cluster_state::new_cluster);
  EXPECT_EQ(c.snapshot_count, 100000u);
  EXPECT_EQ(c.effective_quota_bytes(), int64_t{2} << 30);
  EXPECT_EQ(c.max_request_bytes, 1572864u);
  EXPECT_EQ(c.max_txn_ops, 128u);
  EXPECT_EQ(c.heartbeat_interval.count(), 100);
  EXPECT_EQ(c.election_timeout.count(), 1000);
  EXPECT_EQ(c.level, log_level::info);
  EXPECT_EQ(c.compaction_period().count(), 0);
  EXPECT_GE(c.shards, 1u);
}

TEST(Config, FlagSpellings) {
  auto result = parse({"--name", "n1", "-data-dir=/tmp/x", "--listen-client-urls=http://127.0.0.1:3000",
                       "--shards", "3", "--log-level", "debug"});
  ASSERT_TRUE(result.config) << result.error;
  EXPECT_EQ(result.config->name, "n1");
  EXPECT_EQ(result.config->data_dir, "/tmp/x");
  EXPECT_EQ(result.config->listen_client_urls[0].port, 3000);
  EXPECT_EQ(result.config->shards, 3u);
  EXPECT_EQ(result.config->level, log_level::debug);
  EXPECT_EQ(result.config->initial_cluster.count("n1"), 1u);
}

TEST(Config, DataDirFollowsName) {
  auto result = parse({"--name", "infra1"});
  ASSERT_TRUE(result.config);
  EXPECT_EQ(result.config->data_dir, "infra1.ringkv");
}

TEST(Config, EnvironmentIsReadAndFlagsWin) {
  auto result = parse({"--name", "fromflag"},
                      {{"ETCD_NAME", "fromenv"}, {"ETCD_SNAPSHOT_COUNT", "5"}, {"ETCD_BOGUS", "1"},
                       {"ETCDCTL_API", "3"}, {"HOME", "/root"}});
  ASSERT_TRUE(result.config) << result.error;
  EXPECT_EQ(result.config->name, "fromflag");
  EXPECT_EQ(result.config->snapshot_count, 5u);
  ASSERT_EQ(result.warnings.size(), 2u);
  std::string all = result.warnings[0] + result.warnings[1];
  EXPECT_NE(all.find("ETCD_BOGUS"), std::string::npos);
  EXPECT_NE(all.find("shadowed"), std::string::npos);
}

TEST(Config, BadEnvironmentValueNamesTheVariable) {
  auto result = parse({}, {{"ETCD_MAX_TXN_OPS", "many"}});
  EXPECT_FALSE(result.config);
  EXPECT_NE(result.error.find("ETCD_MAX_TXN_OPS"), std::string::npos);
}

TEST(Config, UrlForms) {
  auto result = parse({"--listen-client-urls", "http://[::1]:2400,http://0.0.0.0:2401,http://localhost:2402/"});
  ASSERT_TRUE(result.config) << result.error;
  const auto& urls = result.config->listen_client_urls;
  ASSERT_EQ(urls.size(), 3u);
  EXPECT_EQ(urls[0].bind_address, "::1");
  EXPECT_EQ(urls[0].port, 2400);
  EXPECT_EQ(urls[1].bind_address, "0.0.0.0");
  EXPECT_EQ(urls[2].bind_address, "127.0.0.1");
}

TEST(Config, Errors) {
  struct bad_case {
    std::vector<std::string> flags;
    std::string expected_in_error;
  };
  std::vector<bad_case> cases = {
      {{"--bogus", "1"}, "not defined: -bogus"},
      {{"--name"}, "needs an argument"},
      {{"stray"}, "unexpected argument"},
      {{"--listen-client-urls", "https://127.0.0.1:2379"},
       "TLS key/cert (--cert-file, --key-file) must be provided for client url https://127.0.0.1:2379 with HTTPS scheme"},
      {{"--listen-client-urls", "ftp://127.0.0.1:2379"}, "unsupported scheme 'ftp'"},
      {{"--cipher-suites", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,FOO"}, "unexpected TLS cipher suite \"FOO\""},
      {{"--peer-cert-file", "p.crt"}, "KeyFile and CertFile must both be present[key: , cert: p.crt]"},
      {{"--peer-key-file", "p.key"}, "KeyFile and CertFile must both be present[key: p.key, cert: ]"},
      {{"--listen-client-urls", "https://127.0.0.1:2379", "--key-file", "c.key"},
       "KeyFile and CertFile must both be present[key: c.key, cert: ]"},
      {{"--listen-peer-urls", "https://127.0.0.1:2380"},
       "cannot listen on TLS for 127.0.0.1:2380: KeyFile and CertFile are not presented"},
      {{"--peer-client-cert-auth=maybe"}, "invalid boolean"},
      {{"--client-cert-auth=maybe"}, "invalid boolean"},
      {{"--listen-client-urls", "127.0.0.1:2379"}, "no scheme"},
      {{"--listen-client-urls", "http://127.0.0.1"}, "no port"},
      {{"--listen-client-urls", "http://127.0.0.1:99999"}, "invalid port"},
      {{"--snapshot-count", "0"}, "at least 1"},
      {{"--quota-backend-bytes", "-5"}, "at least 0"},
      {{"--max-request-bytes", "abc"}, "invalid number"},
      {{"--initial-cluster-state", "maybe"}, "'new' or 'existing'"},
      {{"--initial-cluster", "other=http://127.0.0.1:2380"}, "no entry for --name"},
      {{"--heartbeat-interval", "300"}, "at least as 5 times"},
      {{"--election-timeout", "60000"}, "too long"},
      {{"--log-level", "loud"}, "debug, info"},
      {{"--auto-compaction-retention", "5x"}, "not a duration"},
      {{"--auto-compaction-mode", "revision", "--auto-compaction-retention", "1h"}, "revision count"},
      {{"--shards", "1000"}, "at most 256"},
      {{"--io-backend", "kqueue"}, "'auto', 'uring' or 'epoll'"},
  };
  for (const auto& c : cases) {
    auto result = parse(c.flags);
    EXPECT_FALSE(result.config) << c.flags[0];
    EXPECT_NE(result.error.find(c.expected_in_error), std::string::npos)
        << c.flags[0] << " -> " << result.error;
  }
}

TEST(Config, ClientTlsFlags) {
  auto plain = parse({});
  ASSERT_TRUE(plain.config);
  EXPECT_FALSE(plain.config->client_tls.auto_tls);
  EXPECT_FALSE(plain.config->client_tls.client_cert_auth);
  // A bare boolean flag does not swallow the next argument (Go's flag package).
  auto tls = parse({"--listen-client-urls", "https://127.0.0.1:2379,http://127.0.0.1:2381", "--cert-file", "s.crt",
                    "--key-file", "s.key", "--client-cert-auth", "--trusted-ca-file", "ca.crt", "--client-crl-file",
                    "c.crl", "--cipher-suites", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_RSA_WITH_AES_256_GCM_SHA384"});
  ASSERT_TRUE(tls.config) << tls.error;
  const auto& client = tls.config->client_tls;
  EXPECT_EQ(client.cert_file, "s.crt");
  EXPECT_EQ(client.key_file, "s.key");
  EXPECT_EQ(client.trusted_ca_file, "ca.crt");
  EXPECT_EQ(client.crl_file, "c.crl");
  EXPECT_TRUE(client.client_cert_auth);
  EXPECT_EQ(client.cipher_suites.size(), 2u);
  EXPECT_EQ(tls.config->listen_client_urls[0].scheme, "https");
  EXPECT_EQ(tls.config->listen_client_urls[1].scheme, "http");
  EXPECT_EQ(client.info(), "cert = s.crt, key = s.key, trusted-ca = ca.crt, client-cert-auth = true, crl-file = c.crl");
  auto automatic = parse({"--listen-client-urls", "https://127.0.0.1:2379", "--auto-tls"});
  ASSERT_TRUE(automatic.config) << automatic.error;
  EXPECT_TRUE(automatic.config->client_tls.auto_tls);
  auto from_env = parse({"--listen-client-urls", "https://127.0.0.1:2379"}, {{"ETCD_AUTO_TLS", "true"}});
  ASSERT_TRUE(from_env.config) << from_env.error;
  EXPECT_TRUE(from_env.config->client_tls.auto_tls);
  EXPECT_TRUE(parse({"--peer-auto-tls=false"}).config);  // the default, said explicitly
  // Peer TLS: the flags land in peer_tls; https peer URLs are accepted with a key pair or auto TLS.
  auto peer = parse({"--listen-peer-urls", "https://127.0.0.1:2380", "--initial-advertise-peer-urls",
                     "https://127.0.0.1:2380", "--peer-cert-file", "p.crt", "--peer-key-file", "p.key",
                     "--peer-trusted-ca-file", "ca.crt", "--peer-client-cert-auth", "--peer-crl-file", "crl.pem",
                     "--peer-cert-allowed-cn", "member", "--peer-cert-allowed-hostname", "m.example",
                     "--client-cert-allowed-hostname", "c.example"});
  ASSERT_TRUE(peer.config) << peer.error;
  const peer_tls_config& p = peer.config->peer_tls;
  EXPECT_EQ(p.cert_file, "p.crt");
  EXPECT_EQ(p.key_file, "p.key");
  EXPECT_EQ(p.trusted_ca_file, "ca.crt");
  EXPECT_TRUE(p.client_cert_auth);
  EXPECT_EQ(p.crl_file, "crl.pem");
  EXPECT_EQ(p.allowed_cn, "member");
  EXPECT_EQ(p.allowed_hostname, "m.example");
  EXPECT_EQ(peer.config->client_tls.allowed_hostname, "c.example");
  auto peer_auto = parse({"--listen-peer-urls", "https://127.0.0.1:2380", "--peer-auto-tls"});
  ASSERT_TRUE(peer_auto.config) << peer_auto.error;
  EXPECT_TRUE(peer_auto.config->peer_tls.auto_tls);
}

TEST(Config, IoBackendSetsTheRuntimeOption) {
  EXPECT_EQ(parse({}).config->io_backend, runtime::io_backend::automatic);
  EXPECT_EQ(parse({"--io-backend", "epoll"}).config->io_backend, runtime::io_backend::epoll);
  EXPECT_EQ(parse({"--io-backend=uring"}).config->io_backend, runtime::io_backend::uring);
  EXPECT_EQ(parse({}, {{"ETCD_IO_BACKEND", "epoll"}}).config->io_backend, runtime::io_backend::epoll);
}

TEST(Config, AutoCompaction) {
  auto periodic = parse({"--auto-compaction-retention", "1h30m"});
  ASSERT_TRUE(periodic.config);
  EXPECT_EQ(periodic.config->compaction_period().count(), 5400);
  auto hours = parse({"--auto-compaction-retention", "2"});
  EXPECT_EQ(hours.config->compaction_period().count(), 7200);
  auto revision = parse({"--auto-compaction-mode", "revision", "--auto-compaction-retention", "1000"});
  ASSERT_TRUE(revision.config);
  EXPECT_EQ(revision.config->compaction_revisions(), 1000);
  EXPECT_EQ(revision.config->compaction_period().count(), 0);
}

TEST(Config, HelpAndVersion) {
  EXPECT_TRUE(parse({"--help"}).show_help);
  EXPECT_TRUE(parse({"-h"}).show_help);
  EXPECT_TRUE(parse({"--version"}).show_version);
  std::string help = config_help_text();
  for (const char* flag : {"--name", "--data-dir", "--listen-client-urls", "--advertise-client-urls",
                           "--listen-peer-urls", "--initial-advertise-peer-urls", "--initial-cluster",
                           "--initial-cluster-token", "--initial-cluster-state", "--snapshot-count",
                           "--quota-backend-bytes", "--max-request-bytes", "--max-txn-ops",
                           "--auto-compaction-mode", "--auto-compaction-retention", "--heartbeat-interval",
                           "--election-timeout", "--log-level", "--shards"})
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
}

TEST(GoValues, Booleans) {
  for (const char* yes : {"1", "t", "T", "TRUE", "true", "True"}) EXPECT_EQ(parse_go_bool(yes), true) << yes;
  for (const char* no : {"0", "f", "F", "FALSE", "false", "False"}) EXPECT_EQ(parse_go_bool(no), false) << no;
  for (const char* bad : {"", "yes", "on", "tRuE", "2", " true"}) EXPECT_FALSE(parse_go_bool(bad)) << bad;
}

TEST(GoValues, Durations) {
  using namespace std::chrono;
  EXPECT_EQ(parse_go_duration("0"), nanoseconds(0));
  EXPECT_EQ(parse_go_duration("1.5h"), minutes(90));
  EXPECT_EQ(parse_go_duration("300ms"), milliseconds(300));
  EXPECT_EQ(parse_go_duration("10us"), microseconds(10));
  EXPECT_EQ(parse_go_duration("10\xC2\xB5s"), microseconds(10));
  EXPECT_EQ(parse_go_duration("10\xCE\xBCs"), microseconds(10));
  EXPECT_EQ(parse_go_duration("1h2m3s"), hours(1) + minutes(2) + seconds(3));
  EXPECT_EQ(parse_go_duration("-1.5s"), milliseconds(-1500));
  EXPECT_EQ(parse_go_duration("+5ns"), nanoseconds(5));
  EXPECT_EQ(parse_go_duration(".5s"), milliseconds(500));
  EXPECT_EQ(parse_go_duration("1.s"), seconds(1));
  EXPECT_EQ(parse_go_duration("1.0000000001s"), seconds(1));  // below 1 ns: dropped, as Go
  EXPECT_EQ(parse_go_duration("2562047h"), hours(2562047));
  EXPECT_EQ(parse_go_duration("-9223372036854775808ns"), nanoseconds(INT64_MIN));
  for (const char* bad : {"", "5", "1x", "h", ".s", "1.5", "1h 2m", "1hh", "-", "9223372036854775808ns",
                          "2562048h", "1e3s"})
    EXPECT_FALSE(parse_go_duration(bad)) << bad;
}

TEST(Config, BooleanFlagsInGoForms) {
  EXPECT_EQ(parse({"--debug"}).config->level, log_level::debug);
  EXPECT_EQ(parse({"--debug=true"}).config->level, log_level::debug);
  EXPECT_EQ(parse({"-debug=1"}).config->level, log_level::debug);
  EXPECT_EQ(parse({"--debug=false"}).config->level, log_level::info);
  EXPECT_EQ(parse({}, {{"ETCD_DEBUG", "True"}}).config->level, log_level::debug);
  // debug wins over --log-level, whatever the order (table order, as etcd).
  EXPECT_EQ(parse({"--debug", "--log-level", "warn"}).config->level, log_level::debug);
  auto space_separated = parse({"--debug", "false"});  // Go: a boolean takes no separate value
  EXPECT_FALSE(space_separated.config);
  EXPECT_NE(space_separated.error.find("unexpected argument 'false'"), std::string::npos) << space_separated.error;
  auto bad = parse({"--strict-reconfig-check=maybe"});
  EXPECT_FALSE(bad.config);
  EXPECT_NE(bad.error.find("invalid boolean"), std::string::npos) << bad.error;
}

TEST(Config, GoDurationsInFlags) {
  EXPECT_EQ(parse({"--experimental-watch-progress-notify-interval", "1.5s"}).config->watch_progress_notify_interval,
            std::chrono::milliseconds(1500));
  EXPECT_EQ(parse({"--experimental-wal-sync-delay", "1500us"}).config->wal_sync_delay, std::chrono::milliseconds(1));
  EXPECT_EQ(parse({"--auto-compaction-retention", "1.5h"}).config->compaction_period().count(), 5400);
  EXPECT_EQ(parse({"--auto-compaction-retention", "1h2m3s"}).config->compaction_period().count(), 3723);
  EXPECT_FALSE(parse({"--experimental-watch-progress-notify-interval", "10"}).config);  // no unit
  EXPECT_FALSE(parse({"--grpc-keepalive-interval", "2 hours"}).config);
}

TEST(Config, GrpcKeepaliveFlagsAreBuiltWithEtcdsDefaults) {
  const auto defaults = parse({});
  ASSERT_TRUE(defaults.config) << defaults.error;
  EXPECT_EQ(defaults.config->grpc_keepalive_min_time, std::chrono::seconds(5));
  EXPECT_EQ(defaults.config->grpc_keepalive_interval, std::chrono::hours(2));
  EXPECT_EQ(defaults.config->grpc_keepalive_timeout, std::chrono::seconds(20));
  auto set = parse({"--grpc-keepalive-min-time=500ms", "--grpc-keepalive-interval", "1m30s",
                    "--grpc-keepalive-timeout=0"});
  ASSERT_TRUE(set.config) << set.error;
  EXPECT_TRUE(set.warnings.empty());
  EXPECT_EQ(set.config->grpc_keepalive_min_time, std::chrono::milliseconds(500));
  EXPECT_EQ(set.config->grpc_keepalive_interval, std::chrono::seconds(90));
  EXPECT_EQ(set.config->grpc_keepalive_timeout, std::chrono::milliseconds(0));
  EXPECT_FALSE(parse({"--grpc-keepalive-timeout=-1s"}).config);
}

TEST(Config, NoEffectFlagsWarnAndSayWhy) {
  auto result = parse({"--max-wals", "10", "--backend-batch-limit=10", "--pre-vote=false", "--logger=capnslog",
                       "--peer-heartbeat-interval=100"});
  ASSERT_TRUE(result.config) << result.error;
  ASSERT_EQ(result.warnings.size(), 5u);
  EXPECT_NE(result.warnings[0].find("--max-wals='10' has no effect in ringkv: ringkv releases WAL segments"),
            std::string::npos) << result.warnings[0];
  std::string all;
  for (const auto& warning : result.warnings) all += warning + "\n";
  EXPECT_NE(all.find("--pre-vote='false' has no effect in ringkv: ringkv's raft always runs the PreVote"),
            std::string::npos) << all;
  EXPECT_NE(all.find("--logger='capnslog'"), std::string::npos) << all;
  EXPECT_NE(all.find("--peer-heartbeat-interval='100' has no effect"), std::string::npos) << all;
}

TEST(Config, InertValuesAreQuiet) {
  auto result = parse({"--pre-vote", "--strict-reconfig-check=True", "--enable-v2=false", "--logger", "zap",
                       "--cors=*", "--host-whitelist=", "--experimental-corrupt-check-time=0s", "--proxy", "off",
                       "--wal-dir=", "--unsafe-no-fsync=0", "--enable-grpc-gateway", "--metrics", "basic"});
  ASSERT_TRUE(result.config) << result.error;
  EXPECT_TRUE(result.warnings.empty()) << result.warnings[0];
  auto env = parse({}, {{"ETCD_WAL_DIR", ""}, {"ETCD_DISCOVERY", ""}, {"ETCD_ENABLE_V2", "false"}});
  ASSERT_TRUE(env.config) << env.error;
  EXPECT_TRUE(env.warnings.empty());
}

TEST(Config, AuthFlags) {
  auto defaults = parse({}, {});
  ASSERT_TRUE(defaults.config) << defaults.error;
  EXPECT_EQ(defaults.config->bcrypt_cost, 10);
  EXPECT_EQ(defaults.config->auth_token_ttl, std::chrono::seconds(300));
  auto given = parse({"--auth-token", "simple", "--bcrypt-cost", "4", "--auth-token-ttl", "7"}, {});
  ASSERT_TRUE(given.config) << given.error;
  EXPECT_EQ(given.config->bcrypt_cost, 4);
  EXPECT_EQ(given.config->auth_token_ttl, std::chrono::seconds(7));
  EXPECT_TRUE(given.config->auth_jwt.sign_method.empty());
  auto jwt = parse({"--auth-token", "jwt,pub-key=a.pub,priv-key=a.key,sign-method=ES384,ttl=90s,other=1"}, {});
  ASSERT_TRUE(jwt.config) << jwt.error;
  EXPECT_EQ(jwt.config->auth_jwt.sign_method, "ES384");
  EXPECT_EQ(jwt.config->auth_jwt.public_key_file, "a.pub");
  EXPECT_EQ(jwt.config->auth_jwt.private_key_file, "a.key");
  EXPECT_EQ(jwt.config->auth_jwt.ttl, std::chrono::seconds(90));
  auto default_ttl = parse({"--auth-token", "jwt,priv-key=a.key,sign-method=HS256"}, {});
  ASSERT_TRUE(default_ttl.config) << default_ttl.error;
  EXPECT_EQ(default_ttl.config->auth_jwt.ttl, std::chrono::minutes(5));
}

TEST(Config, NotBuiltFlagsRefuseTheStart) {
  struct refused {
    std::vector<std::string> flags;
    environment env;
    std::string expected;
  };
  std::vector<refused> cases = {
      {{"--auth-token", "jwt,pub-key=a.pub,priv-key=a.key,sign-method=RS257"}, {}, "auth: invalid auth signature method"},
      {{"--auth-token", "jwt,sign-method=RS256"}, {}, "auth: missing key data"},
      {{"--auth-token", "jwt,priv-key=a.key,sign-method=ES256,ttl=5x"}, {}, "time: invalid duration \"5x\""},
      {{"--auth-token", "jwt,priv-key"}, {}, "auth: invalid auth options"},
      {{"--auth-token", "jwt,ttl=1s,ttl=2s"}, {}, "duplicated parameter ttl"},
      {{"--auth-token", "token"}, {}, "unknown token type 'token'"},
      {{"--bcrypt-cost", "3"}, {}, "bcrypt-cost"},
      {{"--bcrypt-cost", "32"}, {}, "at most 31"},
      {{"--auth-token-ttl", "0"}, {}, "auth-token-ttl"},
      {{"--discovery", "discovery.etcd.io/abc"}, {}, "is not an http:// or https:// URL"},
      {{"--discovery", "http://127.0.0.1:8087/abc", "--discovery-srv", "example.com"}, {},
       "multiple discovery or bootstrap flags are set"},
      {{"--discovery-srv", "example.com", "--initial-cluster", "default=http://localhost:2380"}, {},
       "Choose one of \"initial-cluster\", \"discovery\" or \"discovery-srv\""},
      {{"--discovery-fallback", "retry"}, {}, "must be 'exit' or 'proxy'"},
      {{"--enable-v2"}, {}, "v2 API"},
      {{}, {{"ETCD_ENABLE_V2", "true"}}, "ETCD_ENABLE_V2='true' is not built"},
      {{"--wal-dir", "/fast/wal"}, {}, "dedicated WAL directory"},
      {{"--force-new-cluster"}, {}, "snapshot restore"},
      {{"--proxy", "on"}, {}, "v2 proxy"},
      {{"--listen-metrics-urls", "http://127.0.0.1:2381"}, {}, "metrics listener"},
      {{"--cors", "https://example.com"}, {}, "CORS"},
      {{"--experimental-enable-lease-checkpoint"}, {}, "lease checkpoints"},
      {{"--experimental-initial-corrupt-check=true"}, {}, "corruption check"},
      {{"--log-outputs", "systemd/journal,stderr"}, {}, "'systemd/journal' must be the only log output"},
      {{"--log-outputs", "default,/tmp/x.log"}, {}, "multi logoutput for \"default\" is not supported yet"},
  };
  for (const auto& c : cases) {
    auto result = parse(c.flags, c.env);
    EXPECT_FALSE(result.config) << c.expected;
    EXPECT_NE(result.error.find(c.expected), std::string::npos) << c.expected << " -> " << result.error;
  }
}

// Every flag etcd 3.4.23 defines (etcdmain/config.go), client TLS ones aside (their own configuration).
TEST(Config, EveryEtcd34FlagIsKnown) {
  const std::vector<std::string> etcd_flags = {
      "name", "data-dir", "wal-dir", "snapshot-count", "heartbeat-interval", "election-timeout",
      "initial-election-tick-advance", "listen-peer-urls", "listen-client-urls", "max-snapshots", "max-wals",
      "quota-backend-bytes", "backend-batch-interval", "backend-batch-limit", "max-txn-ops", "max-request-bytes",
      "max-concurrent-streams", "grpc-keepalive-min-time", "grpc-keepalive-interval", "grpc-keepalive-timeout",
      "initial-advertise-peer-urls", "initial-cluster", "initial-cluster-state", "initial-cluster-token",
      "advertise-client-urls", "discovery", "discovery-fallback", "discovery-proxy", "discovery-srv",
      "discovery-srv-name", "strict-reconfig-check", "pre-vote", "auto-compaction-retention",
      "auto-compaction-mode", "enable-v2", "client-cert-allowed-hostname", "peer-cert-file", "peer-key-file",
      "peer-client-cert-auth", "peer-trusted-ca-file", "peer-cert-allowed-cn", "peer-cert-allowed-hostname",
      "peer-auto-tls", "peer-crl-file", "cors", "host-whitelist", "auth-token", "bcrypt-cost", "auth-token-ttl",
      "enable-pprof", "metrics", "listen-metrics-urls", "logger", "log-outputs", "log-output", "log-level", "debug",
      "log-package-levels", "proxy", "proxy-failure-wait", "proxy-refresh-interval", "proxy-dial-timeout",
      "proxy-write-timeout", "proxy-read-timeout", "experimental-initial-corrupt-check",
      "experimental-corrupt-check-time", "experimental-enable-v2v3", "experimental-backend-bbolt-freelist-type",
      "experimental-enable-lease-checkpoint", "experimental-enable-lease-checkpoint-persist",
      "experimental-compaction-batch-limit", "experimental-watch-progress-notify-interval",
      "experimental-warning-apply-duration", "experimental-peer-skip-client-san-verification", "unsafe-no-fsync",
      "force-new-cluster", "enable-grpc-gateway", "config-file", "cluster-active-size", "cluster-remove-delay",
      "cluster-sync-interval", "config", "force", "max-result-buffer", "max-retry-attempts",
      "peer-heartbeat-interval", "peer-election-timeout", "retry-interval", "snapshot", "v", "vv"};
  const std::string help = config_help_text();
  for (const auto& flag : etcd_flags) {
    auto result = parse({"--" + flag + "=x"});  // a bad value, but never "not defined"
    EXPECT_EQ(result.error.find("not defined"), std::string::npos) << flag << ": " << result.error;
    const bool listed = help.find("--" + flag + " ") != std::string::npos ||
                        help.find("--" + flag + ",") != std::string::npos ||
                        help.find("--" + flag + "\n") != std::string::npos;
    EXPECT_TRUE(listed) << flag << " is not in --help";
  }
}

class ConfigFile : public ::testing::Test {
 protected:
  std::string path_ = "/tmp/ringkv-config-test-" + std::to_string(::getpid()) + ".yml";
  void write(const std::string& text) { std::ofstream(path_) << text; }
  void TearDown() override { std::remove(path_.c_str()); }
};

TEST_F(ConfigFile, EtcdSampleShapeIsRead) {
  write(R"(# as etcd's etcd.conf.yml.sample
name: 'infra1'
data-dir: /var/lib/ringkv
wal-dir:
snapshot-count: 10000
heartbeat-interval: 100
election-timeout: 1000
quota-backend-bytes: 0
listen-peer-urls: http://10.0.0.1:2380
listen-client-urls: http://10.0.0.1:2379,http://127.0.0.1:2379
max-snapshots: 5
cors:
initial-advertise-peer-urls: http://10.0.0.1:2380
advertise-client-urls: http://10.0.0.1:2379
discovery:
discovery-fallback: 'proxy'
initial-cluster: infra1=http://10.0.0.1:2380,infra2=http://10.0.0.2:2380,infra3=http://10.0.0.3:2380
initial-cluster-token: 'etcd-cluster-1'
initial-cluster-state: 'existing'
strict-reconfig-check: yes
enable-v2: false
proxy: 'off'
client-transport-security:
  cert-file:
  key-file:
peer-transport-security:
  client-cert-auth: false
  auto-tls: false
debug: true
logger: zap
log-outputs: [stdout]
auto-compaction-mode: periodic
auto-compaction-retention: "1"
experimental-watch-progress-notify-interval: 1500000000
)");
  auto result = parse({"--config-file", path_});
  ASSERT_TRUE(result.config) << result.error;
  const server_config& c = *result.config;
  EXPECT_EQ(c.config_file, path_);
  EXPECT_EQ(c.name, "infra1");
  EXPECT_EQ(c.data_dir, "/var/lib/ringkv");
  EXPECT_EQ(c.snapshot_count, 10000u);
  ASSERT_EQ(c.listen_client_urls.size(), 2u);
  EXPECT_EQ(c.listen_client_urls[1].bind_address, "127.0.0.1");
  EXPECT_EQ(c.initial_cluster.size(), 3u);
  EXPECT_EQ(c.initial_cluster_token, "etcd-cluster-1");
  EXPECT_EQ(c.initial_cluster_state, cluster_state::existing_cluster);
  EXPECT_EQ(c.level, log_level::debug);
  EXPECT_EQ(c.log_outputs, (std::vector<log_destination>{{log_destination::kind::standard_output, ""}}));
  EXPECT_EQ(c.compaction_period().count(), 3600);
  EXPECT_EQ(c.watch_progress_notify_interval, std::chrono::milliseconds(1500));  // nanoseconds, as etcd's file
  ASSERT_EQ(result.warnings.size(), 1u);  // max-snapshots: 5, given
  EXPECT_NE(result.warnings[0].find("config file key 'max-snapshots'='5' has no effect"), std::string::npos)
      << result.warnings[0];
}

TEST_F(ConfigFile, FlagsAndEnvironmentAreIgnoredWithAWarning) {
  write("name: from-file\nsnapshot-count: 7\nunknown-key: 1\n");
  auto result = parse({"--config-file", path_, "--name", "from-flag"},
                      {{"ETCD_SNAPSHOT_COUNT", "9"}, {"ETCD_SHARDS", "2"}, {"PATH", "/bin"}});
  ASSERT_TRUE(result.config) << result.error;
  EXPECT_EQ(result.config->name, "from-file");
  EXPECT_EQ(result.config->snapshot_count, 7u);
  ASSERT_EQ(result.warnings.size(), 2u);
  EXPECT_NE(result.warnings[0].find("ignored (--name, ETCD_SHARDS, ETCD_SNAPSHOT_COUNT)"), std::string::npos)
      << result.warnings[0];
  EXPECT_NE(result.warnings[1].find("unknown key 'unknown-key'"), std::string::npos) << result.warnings[1];
}

TEST_F(ConfigFile, NamedByTheEnvironment) {
  write("name: env-file\n");
  auto result = parse({}, {{"ETCD_CONFIG_FILE", path_}});
  ASSERT_TRUE(result.config) << result.error;
  EXPECT_EQ(result.config->name, "env-file");
  EXPECT_TRUE(result.warnings.empty());
}

TEST_F(ConfigFile, Errors) {
  struct bad_file {
    std::string text;
    std::string expected;
  };
  std::vector<bad_file> cases = {
      {"name: [unclosed\n", "not valid YAML"},
      {"- just\n- a list\n", "top level must be a map"},
      {"name:\n  nested: map\n", "key 'name': must be a plain value"},
      {"enable-v2: true\n", "config file key 'enable-v2'='true' is not built"},
      {"pre-vote: maybe\n", "key 'pre-vote': invalid boolean"},
      {"snapshot-count: lots\n", "config file key 'snapshot-count'"},
      {"peer-transport-security:\n  cert-file: /p.pem\n", "KeyFile and CertFile must both be present[key: , cert: /p.pem]"},
      {"client-transport-security: 5\n", "must be a map"},
  };
  for (const auto& c : cases) {
    write(c.text);
    auto result = parse({"--config-file", path_});
    EXPECT_FALSE(result.config) << c.text;
    EXPECT_NE(result.error.find(c.expected), std::string::npos) << c.text << " -> " << result.error;
  }
  auto missing = parse({"--config-file", "/nonexistent/ringkv.yml"});
  EXPECT_FALSE(missing.config);
  EXPECT_NE(missing.error.find("cannot use config file '/nonexistent/ringkv.yml': cannot open"), std::string::npos)
      << missing.error;
}

TEST(Config, LogOutputs) {
  using kind = log_destination::kind;
  const auto outputs = [](std::vector<std::string> flags) { return parse(flags).config->log_outputs; };
  using list = std::vector<log_destination>;
  EXPECT_EQ(outputs({}), (list{{kind::standard_error, ""}}));
  EXPECT_EQ(outputs({"--log-outputs", "default"}), (list{{kind::standard_error, ""}}));
  EXPECT_EQ(outputs({"--log-outputs", "stdout"}), (list{{kind::standard_output, ""}}));
  EXPECT_EQ(outputs({"--log-outputs=/var/log/ringkv.log"}), (list{{kind::file, "/var/log/ringkv.log"}}));
  EXPECT_EQ(outputs({"--log-output", "stdout,stdout"}), (list{{kind::standard_output, ""}}));
  // Several at once, as etcd 3.4 with --logger=zap: every line goes to each.
  EXPECT_EQ(outputs({"--log-outputs", "stderr,/var/log/x.log,stdout"}),
            (list{{kind::standard_error, ""}, {kind::file, "/var/log/x.log"}, {kind::standard_output, ""}}));
  EXPECT_EQ(outputs({"--log-outputs", "systemd/journal"}), (list{{kind::journal, ""}}));
  // zap: /dev/null among the outputs discards every line.
  EXPECT_EQ(outputs({"--log-outputs", "stderr,/dev/null"}), (list{{kind::file, "/dev/null"}}));
}

}  // namespace
}  // namespace ringkv::server
