// tests/server/config_test.cc — flag and ETCD_* parsing, etcd's defaults, and validation errors.
#include "server/common/config.h"

#include <gtest/gtest.h>

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
      {{"--peer-cert-file", "p.crt"}, "--peer-cert-file=p.crt: peer TLS is not supported yet"},
      {{"--peer-auto-tls"}, "--peer-auto-tls=true: peer TLS is not supported yet"},
      {{"--peer-client-cert-auth=true"}, "peer TLS is not supported yet"},
      {{"--peer-cert-allowed-cn", "n1"}, "peer TLS is not supported yet"},
      {{"--listen-peer-urls", "https://127.0.0.1:2380"}, "--listen-peer-urls https://127.0.0.1:2380: peer TLS"},
      {{"--client-cert-allowed-hostname", "h"}, "not supported yet"},
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
  EXPECT_TRUE(parse({"--peer-auto-tls=false"}).config);  // the default, said explicitly, is not refused
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

}  // namespace
}  // namespace ringkv::server
