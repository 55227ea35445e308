// net/tls/tls_context.h — one TLS configuration: certificate and key, the CAs that the other side's
// certificate must chain to, an optional CRL, TLS 1.2 cipher choices and ALPN (h2 or http/1.1). An
// OpenSSL SSL_CTX underneath, built at start-up (file errors are reported then, with etcd's wording
// where etcd has one) or again when the files change (reloading_context.h), and shared read-only by the
// connections that use it.
//
// Two sides: accepting (the default: client and peer listeners) and dialing (`dialing`: the peer
// connections a member opens, which verify the listener's certificate against the trusted CAs, or the
// system's CAs without a trusted CA file, and the host name or IP address they dialed).
//
// etcd 3.4's meanings: a trusted CA file alone already makes client certificates required (etcd sets
// RequireAndVerifyClientCert when --trusted-ca-file is given), as does --client-cert-auth. TLS 1.2 is
// the lowest version served. allowed_cn / allowed_hostname (--peer-cert-allowed-cn,
// --peer-cert-allowed-hostname, --client-cert-allowed-hostname) are checked on the other side's
// verified certificate, on both sides as etcd's shared tls.Config does; with both set the host name
// check is the one made (etcd 3.4's later assignment wins). An accepting side that asks for no client
// certificate checks neither (Go calls no VerifyPeerCertificate then).
#pragma once

#include <memory>
#include <string>
#include <vector>

struct ssl_ctx_st;  // OpenSSL's SSL_CTX
struct ssl_st;      // OpenSSL's SSL
struct x509_store_ctx_st;  // OpenSSL's X509_STORE_CTX
struct x509_st;            // OpenSSL's X509

namespace ringkv::net::tls {

struct tls_settings {
  std::string cert_file;  // PEM certificate chain; when empty, cert_pem/key_pem are used
  std::string key_file;   // PEM private key
  std::string cert_pem;   // in memory (auto TLS: self_signed.h)
  std::string key_pem;
  std::string trusted_ca_file;  // CAs a client certificate must chain to
  std::string crl_file;         // certificates revoked (PEM or DER CRLs)
  bool client_cert_auth = false;
  std::vector<std::string> cipher_suites;  // etcd's (Go's) names; empty: OpenSSL's defaults
  // ALPN, in the server's order of preference (a dialing context offers these instead). gRPC clients
  // (grpc-go, grpcio, grpc-js) offer only h2 and get it; curl and browsers offer both and get
  // http/1.1, which the JSON gateway, /health, /version and /metrics speak (the HTTP/2 session serves
  // gRPC only).
  std::vector<std::string> alpn = {"http/1.1", "h2"};
  std::string allowed_cn;        // the other side's verified certificate must have this subject CN
  std::string allowed_hostname;  // ... or be valid for this host name / IP address
  bool dialing = false;          // the connecting side (peer connections this member opens)
  bool skip_server_verify = false;  // dialing with auto TLS: etcd's InsecureSkipVerify for self-signed peers
  // Accepting peers (etcd 3.4's checkSAN): a client certificate with IP SANs must list the connecting
  // address, unless it also has DNS SANs (etcd resolves those; ringkv does not, and lets them pass).
  bool check_client_san = false;

  bool requires_client_cert() const { return !dialing && (client_cert_auth || !trusted_ca_file.empty()); }
};

class tls_context {
 public:
  // The context, or null with `error` saying which file failed and why.
  static std::shared_ptr<const tls_context> make(const tls_settings& settings, std::string& error);
  ~tls_context();
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;

  ssl_ctx_st* native() const { return ctx_; }
  bool requires_client_cert() const { return requires_client_cert_; }
  bool dialing() const { return dialing_; }
  bool verifies_server() const { return dialing_ && !skip_server_verify_; }
  bool checks_client_san() const { return check_client_san_; }
  // etcd's error when allowed_cn / allowed_hostname refused the other side's certificate.
  const char* identity_refusal() const;

 private:
  tls_context() = default;
  // OpenSSL's verify callback: at the leaf, the allowed CN / host name check.
  static int verify_identity(int preverify_ok, x509_store_ctx_st* store);
  static int select_alpn(ssl_st* ssl, const unsigned char** out, unsigned char* out_length,
                         const unsigned char* offered, unsigned int offered_length, void* self);

  ssl_ctx_st* ctx_ = nullptr;
  bool requires_client_cert_ = false;
  bool dialing_ = false;
  bool skip_server_verify_ = false;
  bool check_client_san_ = false;
  std::string allowed_cn_;
  std::string allowed_hostname_;
  std::vector<unsigned char> alpn_wire_;  // length-prefixed protocol names, the server's order
};

// An IPv4 or IPv6 address literal (else a host name).
bool is_ip_address(const std::string& host);
// The subject CN of a certificate ("" without one, or for null).
std::string common_name_of(x509_st* cert);
// etcd's checkSAN for an accepted peer: "" when `cert` may connect from `remote_ip`, else Go's words
// ("x509: certificate is valid for 10.0.0.2, not 10.0.0.9").
std::string check_client_san(x509_st* cert, const std::string& remote_ip);
// A dialing session verifies that the listener's certificate is valid for `host` (IP SANs for an
// address, DNS SANs for a name, which is also sent as SNI). False when OpenSSL refused the setting.
bool set_expected_host(ssl_st* ssl, const std::string& host);

}  // namespace ringkv::net::tls
