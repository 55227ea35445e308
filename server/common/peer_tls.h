// server/common/peer_tls.h — TLS between members, from etcd 3.4's --peer-* flags: the peer
// listener's side (an https --listen-peer-urls: --peer-cert-file/--peer-key-file or a certificate made
// for --peer-auto-tls, --peer-trusted-ca-file, --peer-client-cert-auth, --peer-crl-file) and the side
// that dials https peer URLs (the same key pair as its client certificate, the listener's certificate
// verified against --peer-trusted-ca-file for the dialed host; not verified with --peer-auto-tls, as
// etcd's InsecureSkipVerify). --peer-cert-allowed-cn / --peer-cert-allowed-hostname are checked on
// the other member's certificate on both sides, and --cipher-suites applies as on the client port.
// net/peer/peer_transport.h runs the handshakes.
#pragma once

#include <optional>
#include <string>

#include "net/peer/peer_transport.h"
#include "server/common/config.h"

namespace ringkv::server {

// nullopt with `error` empty: the peer port is plaintext and no https peer URL is in use. nullopt
// with `error` set: a file is missing, unreadable or does not match (etcd's wording), or the auto TLS
// certificate could not be made.
std::optional<net::peer::peer_tls_setup> make_peer_tls(const server_config& config, std::string& error);

}  // namespace ringkv::server
