// server/common/tls_flags.cc — see tls_flags.h.
#include "server/common/tls_flags.h"

#include <type_traits>

#include "net/tls/cipher_suites.h"
#include "server/common/config.h"

namespace ringkv::server {
namespace {

std::string parse_bool(const std::string& text, bool& out) {
  if (text.empty() || text == "true" || text == "1" || text == "t" || text == "TRUE" || text == "True") {
    out = true;
  } else if (text == "false" || text == "0" || text == "f" || text == "FALSE" || text == "False") {
    out = false;
  } else {
    return "parse error: invalid boolean '" + text + "'";
  }
  return "";
}

template <typename Side>
constexpr Side server_config::*side_of() {
  if constexpr (std::is_same_v<Side, client_tls_config>) return &server_config::client_tls;
  else return &server_config::peer_tls;
}

template <typename Side>
tls_flag_spec path_flag(const char* name, const char* help, std::string Side::*field) {
  return {name, "", help, false, [field](server_config& c, const std::string& v) -> std::string {
            (c.*side_of<Side>()).*field = v;
            return "";
          }};
}

template <typename Side>
tls_flag_spec bool_flag(const char* name, const char* help, bool Side::*field) {
  return {name, "false", help, true, [field](server_config& c, const std::string& v) {
            return parse_bool(v, (c.*side_of<Side>()).*field);
          }};
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

std::string tls_info(const std::string& cert, const std::string& key, const std::string& ca, bool client_cert_auth,
                     const std::string& crl) {
  return "cert = " + cert + ", key = " + key + ", trusted-ca = " + ca +
         ", client-cert-auth = " + (client_cert_auth ? "true" : "false") + ", crl-file = " + crl;
}

// etcd's TLSInfo check: "KeyFile and CertFile must both be present[key: k, cert: c]".
std::string key_pair_error(const std::string& cert, const std::string& key) {
  if (cert.empty() == key.empty()) return "";
  return "KeyFile and CertFile must both be present[key: " + key + ", cert: " + cert + "]";
}

}  // namespace

std::string client_tls_config::info() const {
  return tls_info(cert_file, key_file, trusted_ca_file, client_cert_auth, crl_file);
}

std::string peer_tls_config::info() const {
  return tls_info(cert_file, key_file, trusted_ca_file, client_cert_auth, crl_file);
}

const std::vector<tls_flag_spec>& tls_flag_table() {
  static const std::vector<tls_flag_spec> table = {
      path_flag("cert-file", "Path to the client server TLS cert file.", &client_tls_config::cert_file),
      path_flag("key-file", "Path to the client server TLS key file.", &client_tls_config::key_file),
      bool_flag("client-cert-auth", "Enable client cert authentication.", &client_tls_config::client_cert_auth),
      path_flag("client-crl-file", "Path to the client certificate revocation list file.",
                &client_tls_config::crl_file),
      path_flag("client-cert-allowed-hostname", "Allowed TLS hostname for client cert authentication.",
                &client_tls_config::allowed_hostname),
      path_flag("trusted-ca-file", "Path to the client server TLS trusted CA cert file.",
                &client_tls_config::trusted_ca_file),
      bool_flag("auto-tls", "Client TLS using generated certificates.", &client_tls_config::auto_tls),
      path_flag("peer-cert-file", "Path to the peer server TLS cert file.", &peer_tls_config::cert_file),
      path_flag("peer-key-file", "Path to the peer server TLS key file.", &peer_tls_config::key_file),
      bool_flag("peer-client-cert-auth", "Enable peer client cert authentication.", &peer_tls_config::client_cert_auth),
      path_flag("peer-trusted-ca-file", "Path to the peer server TLS trusted CA file.", &peer_tls_config::trusted_ca_file),
      path_flag("peer-cert-allowed-cn", "Required CN for client certs connecting to the peer endpoint.",
                &peer_tls_config::allowed_cn),
      path_flag("peer-cert-allowed-hostname", "Allowed TLS hostname for inter peer authentication.",
                &peer_tls_config::allowed_hostname),
      bool_flag("peer-auto-tls",
                "Peer TLS using self-generated certificates if --peer-key-file and --peer-cert-file are not provided.",
                &peer_tls_config::auto_tls),
      path_flag("peer-crl-file", "Path to the peer certificate revocation list file.", &peer_tls_config::crl_file),
      bool_flag("experimental-peer-skip-client-san-verification",
                "Skip verification of SAN field in client certificate for peer connections.",
                &peer_tls_config::skip_client_san_verification),
      {"cipher-suites", "",
       "Comma-separated list of supported TLS cipher suites between client/server and peers (empty will be "
       "auto-populated by OpenSSL).",
       false, [](server_config& c, const std::string& v) -> std::string {
         std::vector<std::string> names = split_commas(v);
         std::string unknown;
         if (!net::tls::openssl_cipher_list(names, unknown)) return "unexpected TLS cipher suite \"" + unknown + "\"";
         c.client_tls.cipher_suites = std::move(names);
         return "";
       }},
  };
  return table;
}

bool is_boolean_tls_flag(std::string_view name) {
  for (const auto& flag : tls_flag_table())
    if (flag.boolean && name == flag.name) return true;
  return false;
}

std::string check_tls_flags(const server_config& config) {
  // etcd builds its peer dialer's TLS configuration whatever the peer URLs' schemes, the client
  // listeners' only for https URLs (http ones ignore the files with a warning).
  const peer_tls_config& peer = config.peer_tls;
  if (auto error = key_pair_error(peer.cert_file, peer.key_file); !error.empty()) return error;
  const client_tls_config& tls = config.client_tls;
  for (const auto& url : config.listen_client_urls) {
    if (url.scheme != "https") continue;
    if (auto error = key_pair_error(tls.cert_file, tls.key_file); !error.empty()) return error;
    if (tls.has_key_pair() || tls.auto_tls) continue;
    return "TLS key/cert (--cert-file, --key-file) must be provided for client url " + url.url + " with HTTPS scheme";
  }
  for (const auto& url : config.listen_peer_urls) {
    if (url.scheme != "https" || peer.has_key_pair() || peer.auto_tls) continue;
    const bool v6 = url.bind_address.find(':') != std::string::npos;
    return "cannot listen on TLS for " + (v6 ? "[" + url.bind_address + "]" : url.bind_address) + ":" +
           std::to_string(url.port) + ": KeyFile and CertFile are not presented";
  }
  return "";
}

}  // namespace ringkv::server
