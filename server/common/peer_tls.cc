// server/common/peer_tls.cc — see peer_tls.h.
#include "server/common/peer_tls.h"

#include <algorithm>

#include "net/tls/self_signed.h"
#include "runtime/log.h"

namespace ringkv::server {
namespace {

bool any_https(const std::vector<url_endpoint>& urls) {
  return std::any_of(urls.begin(), urls.end(), [](const url_endpoint& url) { return url.scheme == "https"; });
}

bool any_https_member(const server_config& config) {
  for (const auto& [name, urls] : config.initial_cluster)
    for (const auto& url : urls)
      if (url.rfind("https://", 0) == 0) return true;
  return false;
}

}  // namespace

std::optional<net::peer::peer_tls_setup> make_peer_tls(const server_config& config, std::string& error) {
  const peer_tls_config& flags = config.peer_tls;
  const bool listens_https = !config.listen_peer_urls.empty() && config.listen_peer_urls.front().scheme == "https";
  const bool wanted = flags.has_key_pair() || flags.auto_tls || listens_https ||
                      any_https(config.initial_advertise_peer_urls) || any_https_member(config);
  if (!wanted) return std::nullopt;

  net::tls::tls_settings common;
  common.cipher_suites = config.client_tls.cipher_suites;
  common.allowed_cn = flags.allowed_cn;
  common.allowed_hostname = flags.allowed_hostname;
  common.alpn.clear();  // the peer protocol is ringkv's frames, not HTTP
  const bool self_signed = !flags.has_key_pair() && flags.auto_tls;
  if (flags.has_key_pair()) {
    if (flags.auto_tls) log::warn("ignoring peer auto TLS since certs given");
    common.cert_file = flags.cert_file;
    common.key_file = flags.key_file;
  } else if (self_signed) {
    std::vector<std::string> hosts;
    for (const auto& url : config.listen_peer_urls) hosts.push_back(url.host);
    auto generated = net::tls::make_self_signed(hosts, error);
    if (!generated) return std::nullopt;
    common.cert_pem = std::move(generated->cert_pem);
    common.key_pem = std::move(generated->key_pem);
    log::info("generated a self-signed peer certificate for --peer-auto-tls (in memory)", {{"hosts", hosts}});
  }

  net::peer::peer_tls_setup setup;
  if (listens_https) {
    net::tls::tls_settings& accepting = setup.accepting.settings;
    accepting = common;
    accepting.trusted_ca_file = flags.trusted_ca_file;
    accepting.crl_file = flags.crl_file;
    accepting.client_cert_auth = flags.client_cert_auth;
    accepting.check_client_san = !flags.skip_client_san_verification;
    setup.accepting.context = net::tls::tls_context::make(accepting, error);
    if (!setup.accepting.context) return std::nullopt;
  } else if (!config.listen_peer_urls.empty() && flags.has_key_pair()) {
    log::warn("scheme is HTTP while key and cert files are present; ignoring key and cert files",
              {{"peer-url", config.listen_peer_urls.front().url}});
  }
  net::tls::tls_settings& dialing = setup.dialing.settings;
  dialing = common;
  dialing.dialing = true;
  dialing.trusted_ca_file = flags.trusted_ca_file;
  dialing.skip_server_verify = self_signed;
  setup.dialing.context = net::tls::tls_context::make(dialing, error);
  if (!setup.dialing.context) return std::nullopt;
  log::info("starting with peer TLS", {{"tls-info", flags.info()},
                                       {"cipher-suites", config.client_tls.cipher_suites},
                                       {"peer-auto-tls", self_signed},
                                       {"listener", listens_https ? "https" : "http"}});
  return setup;
}

}  // namespace ringkv::server
