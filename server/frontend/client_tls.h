// server/frontend/client_tls.h — TLS on the client port: the TLS context made from the flags
// (--cert-file/--key-file, or a certificate generated for --auto-tls, --trusted-ca-file,
// --client-cert-auth, --client-crl-file, --cipher-suites, --client-cert-allowed-hostname; re-made on
// each shard when the files change: net/tls/reloading_context.h), and the transport step every https
// listener runs before the connection driver: a bounded handshake (net/tls/tls_handshake.h) whose
// verified client CN the driver hands to the calls. A refused handshake logs etcd's "rejected
// connection" warning with the client's address and the reason.
#pragma once

#include <memory>
#include <string>

#include "net/grpc/client_connection.h"
#include "net/tls/reloading_context.h"
#include "net/tls/tls_handshake.h"
#include "server/common/config.h"

namespace ringkv::server {

// The context is null with `error` set when a file is missing, unreadable or does not match (etcd's wording).
net::tls::tls_material make_client_tls(const server_config& config, std::string& error);

// One shard's TLS state: its context (re-made when the files change) and its handshake gate.
struct client_tls_port {
  explicit client_tls_port(const net::tls::tls_material& material) : context(material, "client") {}

  net::tls::reloading_context context;
  net::tls::handshake_limits limits;
  net::tls::handshake_gate gate{limits.concurrent_max};

  // The transport step for client_port_services::transport. `this` must outlive the listeners' connections.
  net::grpc::transport_setup transport();
};

}  // namespace ringkv::server
