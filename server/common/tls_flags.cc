// server/common/tls_flags.cc — see tls_flags.h.
#include "server/common/tls_flags.h"

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

tls_flag_spec path_flag(const char* name, const char* help, std::string client_tls_config::*field) {
  return {name, "", help, false, [field](server_config& c, const std::string& v) -> std::string {
            c.client_tls.*field = v;
            return "";
          }};
}

tls_flag_spec bool_flag(const char* name, const char* help, bool client_tls_config::*field) {
  return {name, "false", help, true, [field](server_config& c, const std::string& v) {
            return parse_bool(v, c.client_tls.*field);
          }};
}

// A peer TLS flag: accepted by the parser, refused by check_tls_flags when set to anything but its default.
tls_flag_spec peer_flag(const char* name, const char* default_value, const char* help, bool boolean) {
  return {name, default_value, help, boolean, [name, default_value](server_config& c, const std::string& v) -> std::string {
            auto& given = c.peer_tls.given;
            std::erase_if(given, [name](const auto& entry) { return entry.first == name; });
            const bool is_default = v == default_value || (std::string_view(default_value) == "false" && v == "0");
            if (!is_default) given.emplace_back(name, v.empty() ? "true" : v);
            return "";
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

constexpr std::string_view peer_not_built = "peer TLS is not supported yet (ringkv's peer port is plaintext only)";

std::string refuse_https_peer_urls(const std::vector<url_endpoint>& urls, std::string_view flag) {
  for (const auto& url : urls)
    if (url.scheme == "https") return "--" + std::string(flag) + " " + url.url + ": " + std::string(peer_not_built);
  return "";
}

}  // namespace

std::string client_tls_config::info() const {
  return "cert = " + cert_file + ", key = " + key_file + ", trusted-ca = " + trusted_ca_file +
         ", client-cert-auth = " + (client_cert_auth ? "true" : "false") + ", crl-file = " + crl_file;
}

const std::vector<tls_flag_spec>& tls_flag_table() {
  static const std::vector<tls_flag_spec> table = {
      path_flag("cert-file", "Path to the client server TLS cert file.", &client_tls_config::cert_file),
      path_flag("key-file", "Path to the client server TLS key file.", &client_tls_config::key_file),
      bool_flag("client-cert-auth", "Enable client cert authentication.", &client_tls_config::client_cert_auth),
      path_flag("client-crl-file", "Path to the client certificate revocation list file.",
                &client_tls_config::crl_file),
      path_flag("client-cert-allowed-hostname", "Allowed TLS hostname for client cert authentication (not supported yet).",
                &client_tls_config::allowed_hostname),
      path_flag("trusted-ca-file", "Path to the client server TLS trusted CA cert file.",
                &client_tls_config::trusted_ca_file),
      bool_flag("auto-tls", "Client TLS using generated certificates.", &client_tls_config::auto_tls),
      peer_flag("peer-cert-file", "", "Path to the peer server TLS cert file (not supported yet).", false),
      peer_flag("peer-key-file", "", "Path to the peer server TLS key file (not supported yet).", false),
      peer_flag("peer-client-cert-auth", "false", "Enable peer client cert authentication (not supported yet).", true),
      peer_flag("peer-trusted-ca-file", "", "Path to the peer server TLS trusted CA file (not supported yet).", false),
      peer_flag("peer-cert-allowed-cn", "", "Required CN for client certs connecting to the peer endpoint (not supported yet).", false),
      peer_flag("peer-cert-allowed-hostname", "", "Allowed TLS hostname for inter peer authentication (not supported yet).", false),
      peer_flag("peer-auto-tls", "false", "Peer TLS using self-generated certificates (not supported yet).", true),
      peer_flag("peer-crl-file", "", "Path to the peer certificate revocation list file (not supported yet).", false),
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
  if (!config.peer_tls.given.empty()) {
    const auto& [name, value] = config.peer_tls.given.front();
    return "--" + name + "=" + value + ": " + std::string(peer_not_built);
  }
  if (auto error = refuse_https_peer_urls(config.listen_peer_urls, "listen-peer-urls"); !error.empty()) return error;
  if (auto error = refuse_https_peer_urls(config.initial_advertise_peer_urls, "initial-advertise-peer-urls");
      !error.empty())
    return error;
  for (const auto& [member, urls] : config.initial_cluster)
    for (const auto& url : urls)
      if (url.rfind("https://", 0) == 0) return "--initial-cluster " + member + "=" + url + ": " + std::string(peer_not_built);
  if (!config.client_tls.allowed_hostname.empty())
    return "--client-cert-allowed-hostname: not supported yet";
  const client_tls_config& tls = config.client_tls;
  for (const auto& url : config.listen_client_urls) {
    if (url.scheme != "https" || tls.has_key_pair() || tls.auto_tls) continue;
    return "TLS key/cert (--cert-file, --key-file) must be provided for client url " + url.url + " with HTTPS scheme";
  }
  return "";
}

}  // namespace ringkv::server
