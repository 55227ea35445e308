// net/tls/tls_context.h — one server-side TLS configuration: certificate and key, the CAs that client
// certificates must chain to, an optional CRL, TLS 1.2 cipher choices and ALPN (h2 or http/1.1). An
// OpenSSL SSL_CTX underneath, built once at start-up (file errors are reported then, with etcd's
// wording where etcd has one) and shared read-only by every shard's connections.
//
// etcd 3.4's meanings: a trusted CA file alone already makes client certificates required (etcd sets
// RequireAndVerifyClientCert when --trusted-ca-file is given), as does --client-cert-auth. TLS 1.2 is
// the lowest version served.
#pragma once

#include <memory>
#include <string>
#include <vector>

struct ssl_ctx_st;  // OpenSSL's SSL_CTX
struct ssl_st;      // OpenSSL's SSL

namespace ringkv::net::tls {

struct server_tls_settings {
  std::string cert_file;  // PEM certificate chain; when empty, cert_pem/key_pem are used
  std::string key_file;   // PEM private key
  std::string cert_pem;   // in memory (auto TLS: self_signed.h)
  std::string key_pem;
  std::string trusted_ca_file;  // CAs a client certificate must chain to
  std::string crl_file;         // certificates revoked (PEM or DER CRLs)
  bool client_cert_auth = false;
  std::vector<std::string> cipher_suites;  // etcd's (Go's) names; empty: OpenSSL's defaults
  // ALPN, in the server's order of preference. gRPC clients (grpc-go, grpcio, grpc-js) offer only h2
  // and get it; curl and browsers offer both and get http/1.1, which the JSON gateway, /health,
  // /version and /metrics speak (the HTTP/2 session serves gRPC only).
  std::vector<std::string> alpn = {"http/1.1", "h2"};

  bool requires_client_cert() const { return client_cert_auth || !trusted_ca_file.empty(); }
};

class tls_context {
 public:
  // The context, or null with `error` saying which file failed and why.
  static std::shared_ptr<const tls_context> make(const server_tls_settings& settings, std::string& error);
  ~tls_context();
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;

  ssl_ctx_st* native() const { return ctx_; }
  bool requires_client_cert() const { return requires_client_cert_; }

 private:
  tls_context() = default;
  static int select_alpn(ssl_st* ssl, const unsigned char** out, unsigned char* out_length,
                         const unsigned char* offered, unsigned int offered_length, void* self);

  ssl_ctx_st* ctx_ = nullptr;
  bool requires_client_cert_ = false;
  std::vector<unsigned char> alpn_wire_;  // length-prefixed protocol names, the server's order
};

}  // namespace ringkv::net::tls
