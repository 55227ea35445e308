// net/tls/self_signed.cc — see self_signed.h.
#include "net/tls/self_signed.h"

#include "net/tls/tls_context.h"

#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstring>
#include <memory>

namespace ringkv::net::tls {
namespace {

struct openssl_free {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
  void operator()(X509* cert) const { X509_free(cert); }
  void operator()(BIO* bio) const { BIO_free(bio); }
  void operator()(BIGNUM* number) const { BN_free(number); }
  void operator()(X509_EXTENSION* extension) const { X509_EXTENSION_free(extension); }
};
template <typename T>
using owned = std::unique_ptr<T, openssl_free>;

std::string subject_alt_names(const std::vector<std::string>& hosts) {
  std::string names;
  for (const auto& host : hosts) {
    if (host.empty()) continue;
    if (!names.empty()) names += ',';
    names += (is_ip_address(host) ? "IP:" : "DNS:") + host;
  }
  return names;
}

bool add_extension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, cert, cert, nullptr, nullptr, 0);
  owned<X509_EXTENSION> extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str()));
  return extension && X509_add_ext(cert, extension.get(), -1) == 1;
}

std::string to_pem(BIO* bio) {
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  return length > 0 ? std::string(data, size_t(length)) : std::string();
}

}  // namespace

std::optional<pem_key_pair> make_self_signed(const std::vector<std::string>& hosts, std::string& error) {
  auto fail = [&error](const char* what) {
    error = std::string("cannot generate the auto TLS certificate: ") + what;
    ERR_clear_error();
    return std::nullopt;
  };
  owned<EVP_PKEY> key(EVP_EC_gen("P-256"));
  owned<X509> cert(X509_new());
  if (!key || !cert) return fail("key generation");
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof serial_bytes) != 1) return fail("random serial");
  serial_bytes[0] &= 0x7f;  // a positive serial number
  owned<BIGNUM> serial(BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr));
  if (!serial || BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr)
    return fail("serial number");
  X509_set_version(cert.get(), 2);  // v3
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()),
                  long(std::chrono::duration_cast<std::chrono::seconds>(self_signed_validity).count()));
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("etcd"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key.get());
  const std::string alt_names = subject_alt_names(hosts);
  if (!add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !add_extension(cert.get(), NID_key_usage, "critical,digitalSignature,keyEncipherment") ||
      !add_extension(cert.get(), NID_ext_key_usage, "serverAuth,clientAuth") ||
      (!alt_names.empty() && !add_extension(cert.get(), NID_subject_alt_name, alt_names)))
    return fail("certificate extensions");
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return fail("signing");
  owned<BIO> cert_bio(BIO_new(BIO_s_mem()));
  owned<BIO> key_bio(BIO_new(BIO_s_mem()));
  if (!cert_bio || !key_bio || PEM_write_bio_X509(cert_bio.get(), cert.get()) != 1 ||
      PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return fail("PEM encoding");
  return pem_key_pair{to_pem(cert_bio.get()), to_pem(key_bio.get())};
}

}  // namespace ringkv::net::tls
