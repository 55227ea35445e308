// server/common/tls_flags.h — etcd 3.4's TLS flags (--cert-file, --key-file, --trusted-ca-file,
// --client-cert-auth, --client-crl-file, --auto-tls, --cipher-suites, --client-cert-allowed-hostname,
// and the --peer-* ones), their values in server_config, and the checks that need every flag (an
// https:// URL needs a certificate or auto TLS, a key file needs its certificate file, with etcd's
// messages). config.cc adds these flags to its table.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ringkv::server {

struct server_config;

struct client_tls_config {
  std::string cert_file;
  std::string key_file;
  std::string trusted_ca_file;  // etcd 3.4: given alone, it already makes client certificates required
  std::string crl_file;
  bool client_cert_auth = false;
  bool auto_tls = false;  // a self-signed certificate made at start when no --cert-file/--key-file
  std::vector<std::string> cipher_suites;  // Go's names, checked against etcd's list
  std::string allowed_hostname;           // --client-cert-allowed-hostname

  bool has_key_pair() const { return !cert_file.empty() || !key_file.empty(); }
  // etcd's "ClientTLS" info string: "cert = a.crt, key = a.key, trusted-ca = , client-cert-auth = false, crl-file = ".
  std::string info() const;
};

// --peer-cert-file, --peer-key-file, ...: TLS between members (server/common/peer_tls.h). The cipher
// suites are --cipher-suites, shared with the client port as in etcd.
struct peer_tls_config {
  std::string cert_file;
  std::string key_file;
  std::string trusted_ca_file;  // as on the client port: given alone, it already requires client certificates
  std::string crl_file;
  bool client_cert_auth = false;
  bool auto_tls = false;
  std::string allowed_cn;        // --peer-cert-allowed-cn
  std::string allowed_hostname;  // --peer-cert-allowed-hostname
  bool skip_client_san_verification = false;  // --experimental-peer-skip-client-san-verification

  bool has_key_pair() const { return !cert_file.empty() || !key_file.empty(); }
  std::string info() const;  // etcd's "peerTLS" info string, as client_tls_config::info
};

struct tls_flag_spec {
  const char* name;
  const char* default_value;
  const char* help;
  bool boolean;  // a bare --name means true
  std::function<std::string(server_config&, const std::string&)> set;  // returns an error or ""
};

const std::vector<tls_flag_spec>& tls_flag_table();
bool is_boolean_tls_flag(std::string_view name);

// Run once every flag is applied: "" or the start-up error (etcd's wording where etcd has one).
std::string check_tls_flags(const server_config& config);

}  // namespace ringkv::server
