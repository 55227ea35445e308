// server/frontend/client_tls.cc — see client_tls.h.
#include "server/frontend/client_tls.h"

#include "net/tls/self_signed.h"
#include "runtime/log.h"

namespace ringkv::server {
namespace {

runtime::task<bool> secure(client_tls_port& port, net::connection& conn, net::grpc::transport_identity& identity) {
  const std::string remote = net::tls::remote_address(conn);  // before a failed handshake shuts the socket down
  net::tls::handshake_outcome outcome = co_await net::tls::server_handshake(conn, port.context.current(), port.limits, port.gate);
  if (!outcome.ok) {
    log::warn("rejected connection", {{"remote-addr", remote}, {"error", outcome.error}});
    co_return false;
  }
  identity.client_cert_cn = std::move(outcome.client_common_name);
  co_return true;
}

}  // namespace

net::tls::tls_material make_client_tls(const server_config& config, std::string& error) {
  const client_tls_config& flags = config.client_tls;
  net::tls::tls_material material;
  net::tls::tls_settings& settings = material.settings;
  settings.trusted_ca_file = flags.trusted_ca_file;
  settings.crl_file = flags.crl_file;
  settings.client_cert_auth = flags.client_cert_auth;
  settings.cipher_suites = flags.cipher_suites;
  settings.allowed_hostname = flags.allowed_hostname;
  if (flags.has_key_pair()) {
    if (flags.auto_tls) log::warn("ignoring client auto TLS since certs given");
    settings.cert_file = flags.cert_file;
    settings.key_file = flags.key_file;
  } else {
    std::vector<std::string> hosts;
    for (const auto& url : config.listen_client_urls) hosts.push_back(url.host);
    auto generated = net::tls::make_self_signed(hosts, error);
    if (!generated) return material;
    settings.cert_pem = std::move(generated->cert_pem);
    settings.key_pem = std::move(generated->key_pem);
    log::info("generated a self-signed client certificate for --auto-tls (in memory)", {{"hosts", hosts}});
  }
  log::info("starting with client TLS",
            {{"tls-info", flags.info()}, {"cipher-suites", flags.cipher_suites}, {"auto-tls", !flags.has_key_pair()}});
  material.context = net::tls::tls_context::make(settings, error);
  return material;
}

net::grpc::transport_setup client_tls_port::transport() {
  return [this](net::connection& conn, net::grpc::transport_identity& identity) { return secure(*this, conn, identity); };
}

}  // namespace ringkv::server
