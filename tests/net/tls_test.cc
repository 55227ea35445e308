// net/tls: a real OpenSSL client (blocking, on its own thread) against server_handshake and the
// tls_codec installed under a net::connection on the runtime: 1 MiB echoed through the codec in order,
// ALPN (gRPC's h2-only offer gets h2, curl's h2+http/1.1 gets http/1.1), the server certificate made
// for --auto-tls verifying against 127.0.0.1, the handshake timeout, the per-shard handshake cap, and
// etcd's cipher-suite names. Both sides on the runtime (client_handshake against server_handshake, as
// peers connect): the listener's certificate verified for the dialed address, mutual certificates,
// --peer-cert-allowed-cn / --peer-cert-allowed-hostname on both sides, and a reloading_context that
// picks up new certificate files.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "net/tls/cipher_suites.h"
#include "net/tls/reloading_context.h"
#include "net/tls/self_signed.h"
#include "net/tls/tls_context.h"
#include "net/tls/tls_handshake.h"
#include "runtime/when_all.h"
#include "tests/net/tcp_test_support.h"

namespace ringkv::net {
namespace {

using namespace testing;
using namespace std::chrono_literals;

constexpr size_t echo_total_bytes = 1 << 20;
constexpr size_t echo_chunk_bytes = 16 * 1024;

struct client_report {
  bool handshake_ok = false;
  std::string alpn;
  size_t echoed_wrong = 0;  // echoed bytes missing or different from what was sent
};

int blocking_connect(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// A TLS client that trusts `ca_pem`, offers `alpn` (wire format), then sends `total` pattern bytes in
// chunks and reads each chunk's echo back.
client_report run_client(uint16_t port, const std::string& ca_pem, const std::string& alpn, size_t total) {
  client_report report;
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  BIO* pem = BIO_new_mem_buf(ca_pem.data(), int(ca_pem.size()));
  X509* ca = PEM_read_bio_X509(pem, nullptr, nullptr, nullptr);
  BIO_free(pem);
  X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), ca);
  X509_free(ca);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  const int fd = blocking_connect(port);
  SSL* ssl = SSL_new(ctx);
  X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), "127.0.0.1");
  SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>(alpn.data()), unsigned(alpn.size()));
  SSL_set_fd(ssl, fd);
  if (fd >= 0 && SSL_connect(ssl) == 1) {
    report.handshake_ok = true;
    const unsigned char* chosen = nullptr;
    unsigned chosen_length = 0;
    SSL_get0_alpn_selected(ssl, &chosen, &chosen_length);
    report.alpn.assign(reinterpret_cast<const char*>(chosen), chosen_length);
    const std::vector<std::byte> sent = pattern(total, 3);
    std::vector<std::byte> back(echo_chunk_bytes);
    for (size_t at = 0; at < total; at += echo_chunk_bytes) {
      const size_t n = std::min(echo_chunk_bytes, total - at);
      if (SSL_write(ssl, sent.data() + at, int(n)) != int(n)) {
        report.echoed_wrong += total - at;
        break;
      }
      size_t got = 0;
      while (got < n) {
        const int r = SSL_read(ssl, back.data() + got, int(n - got));
        if (r <= 0) break;
        got += size_t(r);
      }
      report.echoed_wrong += n - got;
      for (size_t i = 0; i < got; ++i) report.echoed_wrong += back[i] != sent[at + i];
      if (got < n) break;
    }
    SSL_shutdown(ssl);
  }
  SSL_free(ssl);
  if (fd >= 0) ::close(fd);
  SSL_CTX_free(ctx);
  return report;
}

struct server_identity {
  tls::pem_key_pair pem;
  std::shared_ptr<const tls::tls_context> context;
};

server_identity make_server_identity() {
  std::string error;
  auto pem = tls::make_self_signed({"127.0.0.1", "localhost"}, error);
  EXPECT_TRUE(pem) << error;
  tls::tls_settings settings;
  settings.cert_pem = pem->cert_pem;
  settings.key_pem = pem->key_pem;
  auto context = tls::tls_context::make(settings, error);
  EXPECT_TRUE(context) << error;
  return {*pem, context};
}

// Echoes decoded bytes back through the codec until the client leaves.
runtime::task<void> echo(connection& conn) {
  while (true) {
    const int filled = co_await conn.fill(1);
    if (filled <= 0) break;
    const auto bytes = conn.readable();
    std::vector<std::byte> copy(bytes.begin(), bytes.end());
    conn.consume(bytes.size());
    const int written = co_await conn.write(copy);
    if (written < 0) break;
  }
}

// Strings by value: the coroutine frame keeps its own copies.
runtime::task<int> echo_case(const server_identity& server, std::string offered_wire, std::string expected_protocol) {
  listener l = open_loopback_listener();
  client_report report;
  std::thread client([&report, &server, &offered_wire, port = l.local().port()] {
    report = run_client(port, server.pem.cert_pem, offered_wire, echo_total_bytes);
  });
  result<connection> accepted = co_await l.accept();
  EXPECT_TRUE(accepted.ok());
  connection conn = std::move(accepted).value();
  tls::handshake_gate gate(4);
  const tls::handshake_limits limits;
  tls::handshake_outcome outcome = co_await tls::server_handshake(conn, server.context, limits, gate);
  EXPECT_TRUE(outcome.ok) << outcome.error;
  EXPECT_EQ(outcome.protocol, expected_protocol);
  EXPECT_EQ(outcome.client_common_name, "");
  EXPECT_EQ(gate.active(), 0u);
  EXPECT_TRUE(conn.has_codec());
  if (outcome.ok) co_await echo(conn);
  co_await conn.close();
  co_await l.close();
  client.join();  // the client has read its last echo before it closed
  EXPECT_TRUE(report.handshake_ok);
  EXPECT_EQ(report.alpn, expected_protocol);
  EXPECT_EQ(report.echoed_wrong, 0u);
  co_return 0;
}

TEST(Tls, EchoThroughTheCodecWithGrpcAlpn) {
  const server_identity server = make_server_identity();
  const std::string offered("\x02h2", 3);
  run_on_runtime([&] { return echo_case(server, offered, "h2"); });
}

TEST(Tls, CurlLikeOfferGetsHttp11) {
  const server_identity server = make_server_identity();
  const std::string offered("\x02h2\x08http/1.1", 12);
  run_on_runtime([&] { return echo_case(server, offered, "http/1.1"); });
}

runtime::task<int> timeout_case(const server_identity& server) {
  listener l = open_loopback_listener();
  connected_pair p = co_await connect_pair(l);  // the client never sends its ClientHello
  tls::handshake_limits limits;
  limits.timeout = 300ms;
  tls::handshake_gate gate(limits.concurrent_max);
  const auto started = std::chrono::steady_clock::now();
  tls::handshake_outcome outcome = co_await tls::server_handshake(p.server, server.context, limits, gate);
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_FALSE(outcome.ok);
  EXPECT_EQ(outcome.error, "tls: handshake timed out");
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 3s);
  EXPECT_EQ(gate.active(), 0u);
  co_await close_all(p, l);
  co_return 0;
}

TEST(Tls, HandshakeTimesOutWhenTheClientSaysNothing) {
  const server_identity server = make_server_identity();
  run_on_runtime([&] { return timeout_case(server); });
}

runtime::task<int> cap_case(const server_identity& server) {
  listener l = open_loopback_listener();
  connected_pair p = co_await connect_pair(l);
  tls::handshake_gate gate(1);
  EXPECT_TRUE(gate.try_enter());  // another handshake holds the only place
  const tls::handshake_limits limits;
  tls::handshake_outcome outcome = co_await tls::server_handshake(p.server, server.context, limits, gate);
  EXPECT_FALSE(outcome.ok);
  EXPECT_EQ(outcome.error, "too many TLS handshakes in progress");
  EXPECT_EQ(gate.active(), 1u);
  gate.leave();
  co_await close_all(p, l);
  co_return 0;
}

TEST(Tls, HandshakesOverTheCapAreRefusedAtOnce) {
  const server_identity server = make_server_identity();
  run_on_runtime([&] { return cap_case(server); });
}

TEST(Tls, ContextErrorsUseEtcdWording) {
  std::string error;
  tls::tls_settings missing;
  missing.cert_file = "/nonexistent/server.crt";
  missing.key_file = "/nonexistent/server.key";
  EXPECT_FALSE(tls::tls_context::make(missing, error));
  EXPECT_EQ(error, "open /nonexistent/server.crt: no such file or directory");
  auto first = tls::make_self_signed({"127.0.0.1"}, error);
  auto second = tls::make_self_signed({"127.0.0.1"}, error);
  ASSERT_TRUE(first && second);
  tls::tls_settings mismatched;
  mismatched.cert_pem = first->cert_pem;
  mismatched.key_pem = second->key_pem;
  EXPECT_FALSE(tls::tls_context::make(mismatched, error));
  EXPECT_EQ(error, "tls: private key does not match public key");
  tls::tls_settings bad_cipher;
  bad_cipher.cert_pem = first->cert_pem;
  bad_cipher.key_pem = first->key_pem;
  bad_cipher.cipher_suites = {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "NOPE"};
  EXPECT_FALSE(tls::tls_context::make(bad_cipher, error));
  EXPECT_EQ(error, "unexpected TLS cipher suite \"NOPE\"");
}

TEST(Tls, CipherSuiteNames) {
  EXPECT_EQ(tls::openssl_cipher_name("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384").value_or(""),
            "ECDHE-ECDSA-AES256-GCM-SHA384");
  EXPECT_FALSE(tls::openssl_cipher_name("TLS_AES_128_GCM_SHA256"));  // TLS 1.3: not etcd's to choose
}

// ---- both sides on the runtime (peer connections) ----

// Self-signed key pairs written to a temporary directory (removed with it).
class pem_dir {
 public:
  pem_dir() {
    char name[] = "/tmp/ringkv-net-tls-XXXXXX";
    dir_ = ::mkdtemp(name);
  }
  ~pem_dir() { std::filesystem::remove_all(dir_); }
  pem_dir(const pem_dir&) = delete;
  pem_dir& operator=(const pem_dir&) = delete;

  // Writes a new self-signed pair for `hosts` as <name>.crt / <name>.key; returns it.
  tls::pem_key_pair write(const std::string& name, const std::vector<std::string>& hosts) {
    std::string error;
    auto pair = tls::make_self_signed(hosts, error);
    EXPECT_TRUE(pair) << error;
    std::ofstream(path(name + ".crt")) << pair->cert_pem;
    std::ofstream(path(name + ".key")) << pair->key_pem;
    return *pair;
  }
  std::string path(const std::string& file) const { return dir_ + "/" + file; }

 private:
  std::string dir_;
};

tls::tls_settings files_settings(const pem_dir& dir, const std::string& name) {
  tls::tls_settings settings;
  settings.cert_file = dir.path(name + ".crt");
  settings.key_file = dir.path(name + ".key");
  settings.alpn.clear();
  return settings;
}

struct mutual_outcome {
  tls::handshake_outcome server;
  tls::handshake_outcome client;
};

// A dialed connection's client handshake for `host` against the accepted one's server handshake.
runtime::task<mutual_outcome> handshake_both(tls::tls_settings accepting, tls::tls_settings dialing, std::string host) {
  std::string error;
  auto server_context = tls::tls_context::make(accepting, error);
  EXPECT_TRUE(server_context) << error;
  dialing.dialing = true;
  auto client_context = tls::tls_context::make(dialing, error);
  EXPECT_TRUE(client_context) << error;
  mutual_outcome outcome;
  if (!server_context || !client_context) co_return outcome;
  listener l = open_loopback_listener();
  connected_pair p = co_await connect_pair(l);
  tls::handshake_gate gate(4);
  tls::handshake_limits limits;
  limits.timeout = 5s;
  auto [server, client] = co_await runtime::when_all(tls::server_handshake(p.server, server_context, limits, gate),
                                                      tls::client_handshake(p.client, client_context, limits, host));
  outcome.server = std::move(server);
  outcome.client = std::move(client);
  if (outcome.server.ok && outcome.client.ok) {  // a byte each way through both codecs
    const std::byte ping[1] = {std::byte{42}};
    EXPECT_EQ(co_await p.client.write(ping), 1);
    EXPECT_GE(co_await p.server.fill(1), 1);
    EXPECT_EQ(p.server.readable()[0], std::byte{42});
  }
  co_await close_all(p, l);
  co_return outcome;
}

runtime::task<int> store_both(mutual_outcome& out, tls::tls_settings accepting, tls::tls_settings dialing, std::string host) {
  out = co_await handshake_both(std::move(accepting), std::move(dialing), std::move(host));
  co_return 0;
}

mutual_outcome run_both(const tls::tls_settings& accepting, const tls::tls_settings& dialing, const std::string& host) {
  mutual_outcome outcome;
  run_on_runtime([&] { return store_both(outcome, accepting, dialing, host); });
  return outcome;
}

TEST(TlsPeers, DialerVerifiesTheListenerCertificateForTheDialedAddress) {
  pem_dir dir;
  dir.write("listener", {"127.0.0.1"});
  tls::tls_settings dialing;
  dialing.trusted_ca_file = dir.path("listener.crt");  // self-signed: its own trust anchor
  const auto accepted = run_both(files_settings(dir, "listener"), dialing, "127.0.0.1");
  EXPECT_TRUE(accepted.client.ok) << accepted.client.error;
  EXPECT_TRUE(accepted.server.ok) << accepted.server.error;

  const auto wrong_host = run_both(files_settings(dir, "listener"), dialing, "127.0.0.2");
  EXPECT_FALSE(wrong_host.client.ok);
  EXPECT_EQ(wrong_host.client.error, "tls: failed to verify server certificate: IP address mismatch");

  dir.write("stranger", {"127.0.0.1"});
  dialing.trusted_ca_file = dir.path("stranger.crt");
  const auto untrusted = run_both(files_settings(dir, "listener"), dialing, "127.0.0.1");
  EXPECT_FALSE(untrusted.client.ok);
  EXPECT_NE(untrusted.client.error.find("tls: failed to verify server certificate"), std::string::npos)
      << untrusted.client.error;

  tls::tls_settings skipping;  // --peer-auto-tls: etcd's InsecureSkipVerify
  skipping.skip_server_verify = true;
  EXPECT_TRUE(run_both(files_settings(dir, "listener"), skipping, "127.0.0.2").client.ok);
}

TEST(TlsPeers, MutualCertificatesAndAllowedCommonNameOnBothSides) {
  pem_dir dir;
  dir.write("a", {"127.0.0.1"});
  dir.write("b", {"127.0.0.1"});
  // The self-signed certificates have no CN (organization "etcd" only), so an allowed CN refuses them.
  tls::tls_settings accepting = files_settings(dir, "a");
  accepting.trusted_ca_file = dir.path("b.crt");
  accepting.client_cert_auth = true;
  tls::tls_settings dialing = files_settings(dir, "b");
  dialing.trusted_ca_file = dir.path("a.crt");
  const auto mutual = run_both(accepting, dialing, "127.0.0.1");
  EXPECT_TRUE(mutual.server.ok) << mutual.server.error;
  EXPECT_TRUE(mutual.client.ok) << mutual.client.error;

  tls::tls_settings no_client_cert;  // the listener requires one
  no_client_cert.trusted_ca_file = dir.path("a.crt");
  const auto missing = run_both(accepting, no_client_cert, "127.0.0.1");
  EXPECT_FALSE(missing.server.ok);

  tls::tls_settings cn_listener = accepting;
  cn_listener.allowed_cn = "member";
  const auto refused_by_listener = run_both(cn_listener, dialing, "127.0.0.1");
  EXPECT_FALSE(refused_by_listener.server.ok);
  EXPECT_EQ(refused_by_listener.server.error, "CommonName authentication failed");

  tls::tls_settings cn_dialer = dialing;
  cn_dialer.allowed_cn = "member";
  const auto refused_by_dialer = run_both(accepting, cn_dialer, "127.0.0.1");
  EXPECT_FALSE(refused_by_dialer.client.ok);
  EXPECT_EQ(refused_by_dialer.client.error, "CommonName authentication failed");

  tls::tls_settings hostname_listener = accepting;  // b's certificate is valid for 127.0.0.1 only
  hostname_listener.allowed_hostname = "127.0.0.1";
  EXPECT_TRUE(run_both(hostname_listener, dialing, "127.0.0.1").server.ok);
  hostname_listener.allowed_hostname = "member.example";
  const auto wrong_name = run_both(hostname_listener, dialing, "127.0.0.1");
  EXPECT_FALSE(wrong_name.server.ok);
  EXPECT_EQ(wrong_name.server.error, "HostnameAuthentication failed");
}

TEST(TlsPeers, ReloadingContextPicksUpNewFilesAndKeepsTheOldOnBadOnes) {
  pem_dir dir;
  dir.write("server", {"127.0.0.1"});
  std::string error;
  tls::tls_material material{files_settings(dir, "server"), nullptr};
  material.context = tls::tls_context::make(material.settings, error);
  ASSERT_TRUE(material.context) << error;
  tls::reloading_context reloading(material, "test");
  const auto first = reloading.current();
  EXPECT_EQ(first, material.context);
  dir.write("server", {"127.0.0.1"});  // rotated: a new key pair in the same files
  EXPECT_EQ(reloading.current(), first);  // checked at most once per interval
  std::this_thread::sleep_for(tls::reloading_context::check_interval + 100ms);
  const auto second = reloading.current();
  EXPECT_NE(second, first);
  EXPECT_EQ(reloading.reloads(), 1u);

  std::ofstream(dir.path("server.key")) << "not a key";  // a broken rotation keeps the last good context
  std::this_thread::sleep_for(tls::reloading_context::check_interval + 100ms);
  EXPECT_EQ(reloading.current(), second);
  EXPECT_EQ(reloading.reloads(), 1u);
}

}  // namespace
}  // namespace ringkv::net
