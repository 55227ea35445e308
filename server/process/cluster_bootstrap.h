// server/process/cluster_bootstrap.h — how a member joins its cluster at startup: checks that the cluster flags
// describe this member, and starts the raft peer transport wired to the node.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "net/peer/peer_transport.h"
#include "net/tcp/endpoint.h"
#include "server/common/config.h"
#include "server/api/etcd_server.h"
#include "server/replica/raft_driver.h"

namespace ringkv::server {

// The raft peer transport on the first --listen-peer-urls, wired to the node; its peers follow the
// member records. Started at once with several initial members; a member started alone starts it when
// another member is added (replica::start_peers_when_needed). nullptr (and logged) when it cannot
// start. `tls`: server/common/peer_tls.h's set-up, nullopt for plaintext peers.
std::unique_ptr<net::peer::peer_transport> start_peers(const server_config& config, const member_identity& identity,
                                                       etcd_server& server,
                                                       const std::optional<net::peer::peer_tls_setup>& tls);

// Empty when the cluster flags are consistent for this member; otherwise what is wrong.
std::string check_cluster_flags(const server_config& config, const member_identity& identity, bool fresh);

}  // namespace ringkv::server
