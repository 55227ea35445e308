// net/tls/tls_context.cc — see tls_context.h.
#include "net/tls/tls_context.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "net/tls/cipher_suites.h"

namespace ringkv::net::tls {
namespace {

constexpr unsigned char session_id_context[] = "ringkv";  // lets clients resume sessions when verified

// Go's os.Open wording: "open /etc/x.crt: no such file or directory".
std::string open_error(const std::string& path) {
  if (FILE* file = std::fopen(path.c_str(), "rb")) {
    std::fclose(file);
    return "";
  }
  std::string reason = std::strerror(errno);
  if (!reason.empty()) reason[0] = char(std::tolower(uint8_t(reason[0])));
  return "open " + path + ": " + reason;
}

std::string openssl_reason() {
  const unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  return reason != nullptr ? reason : "unknown OpenSSL error";
}

constexpr std::string_view key_mismatch = "tls: private key does not match public key";  // Go's words

std::string load_key_pair(SSL_CTX* ctx, const tls_settings& settings) {
  if (settings.dialing && settings.cert_file.empty() && settings.key_file.empty() && settings.cert_pem.empty())
    return "";  // a dialing side without a certificate of its own
  if (!settings.cert_file.empty()) {
    if (auto error = open_error(settings.cert_file); !error.empty()) return error;
    if (auto error = open_error(settings.key_file); !error.empty()) return error;
    if (SSL_CTX_use_certificate_chain_file(ctx, settings.cert_file.c_str()) != 1)
      return "tls: failed to find any PEM data in certificate input (" + settings.cert_file + ": " + openssl_reason() + ")";
    if (SSL_CTX_use_PrivateKey_file(ctx, settings.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      const std::string reason = openssl_reason();
      if (reason.find("mismatch") != std::string::npos) return std::string(key_mismatch);
      return "tls: failed to find any PEM data in key input (" + settings.key_file + ": " + reason + ")";
    }
  } else {
    BIO* cert_bio = BIO_new_mem_buf(settings.cert_pem.data(), int(settings.cert_pem.size()));
    X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
    BIO_free(cert_bio);
    BIO* key_bio = BIO_new_mem_buf(settings.key_pem.data(), int(settings.key_pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
    BIO_free(key_bio);
    const bool used = cert != nullptr && key != nullptr && SSL_CTX_use_certificate(ctx, cert) == 1 &&
                      SSL_CTX_use_PrivateKey(ctx, key) == 1;
    X509_free(cert);
    EVP_PKEY_free(key);
    if (!used) {
      const std::string reason = openssl_reason();
      if (reason.find("mismatch") != std::string::npos) return std::string(key_mismatch);
      return "tls: cannot use the in-memory certificate: " + reason;
    }
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    return std::string(key_mismatch);
  }
  return "";
}

// The CAs the other side's certificate must chain to; an accepting side also names them to clients.
std::string load_trusted_cas(SSL_CTX* ctx, const std::string& path, bool dialing) {
  if (auto error = open_error(path); !error.empty()) return error;
  if (SSL_CTX_load_verify_locations(ctx, path.c_str(), nullptr) != 1)
    return "failed to load trusted CA certificates from " + path + ": " + openssl_reason();
  if (dialing) return "";
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(path.c_str());
  if (names == nullptr) return "no CA certificate found in " + path;
  SSL_CTX_set_client_CA_list(ctx, names);  // takes ownership
  return "";
}

// Every CRL in the file (PEM, or one DER CRL) goes into the verify store; leaf certificates are checked.
std::string load_crl(SSL_CTX* ctx, const std::string& path) {
  if (auto error = open_error(path); !error.empty()) return error;
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  size_t added = 0;
  if (BIO* bio = BIO_new_file(path.c_str(), "rb")) {
    while (X509_CRL* crl = PEM_read_bio_X509_CRL(bio, nullptr, nullptr, nullptr)) {
      X509_STORE_add_crl(store, crl);
      X509_CRL_free(crl);
      ++added;
    }
    BIO_free(bio);
  }
  ERR_clear_error();
  if (added == 0) {
    if (BIO* bio = BIO_new_file(path.c_str(), "rb")) {
      if (X509_CRL* crl = d2i_X509_CRL_bio(bio, nullptr)) {
        X509_STORE_add_crl(store, crl);
        X509_CRL_free(crl);
        ++added;
      }
      BIO_free(bio);
    }
  }
  ERR_clear_error();
  if (added == 0) return "no certificate revocation list found in " + path;
  X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
  return "";
}

std::vector<unsigned char> alpn_wire(const std::vector<std::string>& protocols) {
  std::vector<unsigned char> wire;
  for (const auto& protocol : protocols) {
    if (protocol.empty() || protocol.size() > 255) continue;
    wire.push_back(static_cast<unsigned char>(protocol.size()));
    wire.insert(wire.end(), protocol.begin(), protocol.end());
  }
  return wire;
}

std::string subject_common_name(X509* cert) {
  X509_NAME* subject = X509_get_subject_name(cert);
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) return "";
  const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)), size_t(ASN1_STRING_length(value)));
}

// Go's x509 VerifyHostname: an IP address against the IP SANs, a name against the DNS SANs (no CN).
bool valid_for_host(X509* cert, const std::string& host) {
  if (is_ip_address(host)) return X509_check_ip_asc(cert, host.c_str(), 0) == 1;
  return X509_check_host(cert, host.data(), host.size(), X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, nullptr) == 1;
}

}  // namespace

bool is_ip_address(const std::string& host) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, host.c_str(), buffer) == 1 || inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

std::string common_name_of(X509* cert) { return cert == nullptr ? std::string() : subject_common_name(cert); }

std::string check_client_san(X509* cert, const std::string& remote_ip) {
  if (cert == nullptr) return "";
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  std::string listed;
  bool has_dns = false;
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type == GEN_DNS) has_dns = true;
    if (name->type != GEN_IPADD) continue;
    const ASN1_OCTET_STRING* bytes = name->d.iPAddress;
    char text[INET6_ADDRSTRLEN] = {};
    const int family = ASN1_STRING_length(bytes) == 4 ? AF_INET : AF_INET6;
    if (inet_ntop(family, ASN1_STRING_get0_data(bytes), text, sizeof text) == nullptr) continue;
    listed += (listed.empty() ? "" : ", ") + std::string(text);
  }
  GENERAL_NAMES_free(names);
  if (listed.empty() || has_dns || X509_check_ip_asc(cert, remote_ip.c_str(), 0) == 1) return "";
  return "x509: certificate is valid for " + listed + ", not " + remote_ip;
}

bool set_expected_host(SSL* ssl, const std::string& host) {
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (is_ip_address(host)) return X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1;
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
  return SSL_set1_host(ssl, host.c_str()) == 1 && SSL_set_tlsext_host_name(ssl, host.c_str()) == 1;
}

std::shared_ptr<const tls_context> tls_context::make(const tls_settings& settings, std::string& error) {
  std::shared_ptr<tls_context> context(new tls_context());
  context->ctx_ = SSL_CTX_new(settings.dialing ? TLS_client_method() : TLS_server_method());
  SSL_CTX* ctx = context->ctx_;
  if (ctx == nullptr) {
    error = "cannot create a TLS context: " + openssl_reason();
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);  // idle connections give their record buffers back
  if (!settings.dialing) SSL_CTX_set_session_id_context(ctx, session_id_context, sizeof session_id_context - 1);
  SSL_CTX_set_app_data(ctx, context.get());  // verify_identity finds the context through it
  context->dialing_ = settings.dialing;
  context->skip_server_verify_ = settings.skip_server_verify;
  context->check_client_san_ = settings.check_client_san && !settings.dialing;
  context->allowed_cn_ = settings.allowed_cn;
  context->allowed_hostname_ = settings.allowed_hostname;
  if (error = load_key_pair(ctx, settings); !error.empty()) return nullptr;
  if (!settings.trusted_ca_file.empty()) {
    if (error = load_trusted_cas(ctx, settings.trusted_ca_file, settings.dialing); !error.empty()) return nullptr;
  } else if (settings.dialing && !settings.skip_server_verify && SSL_CTX_set_default_verify_paths(ctx) != 1) {
    error = "cannot load the system's CA certificates: " + openssl_reason();
    return nullptr;
  }
  if (!settings.crl_file.empty() && !settings.dialing) {  // etcd checks the CRL where it accepts
    if (error = load_crl(ctx, settings.crl_file); !error.empty()) return nullptr;
  }
  if (!settings.cipher_suites.empty()) {
    std::string unknown;
    const auto list = openssl_cipher_list(settings.cipher_suites, unknown);
    if (!list) {
      error = "unexpected TLS cipher suite \"" + unknown + "\"";
      return nullptr;
    }
    if (SSL_CTX_set_cipher_list(ctx, list->c_str()) != 1) {
      error = "none of the cipher suites " + *list + " is available in this OpenSSL: " + openssl_reason();
      return nullptr;
    }
  }
  context->requires_client_cert_ = settings.requires_client_cert();
  const bool checks_identity = !settings.allowed_cn.empty() || !settings.allowed_hostname.empty();
  const auto verify_callback = checks_identity ? &tls_context::verify_identity : nullptr;
  if (context->requires_client_cert_)
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_callback);
  else if (context->verifies_server())
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_callback);
  context->alpn_wire_ = alpn_wire(settings.alpn);
  if (!context->alpn_wire_.empty() && !settings.dialing)
    SSL_CTX_set_alpn_select_cb(ctx, &tls_context::select_alpn, context.get());
  if (!context->alpn_wire_.empty() && settings.dialing &&  // the offer; 0 is success here
      SSL_CTX_set_alpn_protos(ctx, context->alpn_wire_.data(), unsigned(context->alpn_wire_.size())) != 0) {
    error = "cannot offer ALPN protocols: " + openssl_reason();
    return nullptr;
  }
  return context;
}

tls_context::~tls_context() { SSL_CTX_free(ctx_); }

const char* tls_context::identity_refusal() const {
  return allowed_hostname_.empty() ? "CommonName authentication failed" : "HostnameAuthentication failed";
}

int tls_context::verify_identity(int preverify_ok, X509_STORE_CTX* store) {
  if (preverify_ok != 1 || X509_STORE_CTX_get_error_depth(store) != 0) return preverify_ok;
  auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  const auto* self = ssl != nullptr ? static_cast<const tls_context*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl))) : nullptr;
  X509* leaf = X509_STORE_CTX_get_current_cert(store);
  if (self == nullptr || leaf == nullptr) return preverify_ok;
  const bool allowed = !self->allowed_hostname_.empty() ? valid_for_host(leaf, self->allowed_hostname_)
                                                        : subject_common_name(leaf) == self->allowed_cn_;
  if (allowed) return 1;
  X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
  return 0;
}

// The first of our protocols the client offers; a client that offers none of them goes on without ALPN.
int tls_context::select_alpn(SSL*, const unsigned char** out, unsigned char* out_length,
                             const unsigned char* offered, unsigned int offered_length, void* self) {
  const auto* context = static_cast<const tls_context*>(self);
  unsigned char* chosen = nullptr;
  const int outcome = SSL_select_next_proto(&chosen, out_length, context->alpn_wire_.data(),
                                            static_cast<unsigned int>(context->alpn_wire_.size()), offered,
                                            offered_length);
  if (outcome != OPENSSL_NPN_NEGOTIATED) return SSL_TLSEXT_ERR_NOACK;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace ringkv::net::tls
