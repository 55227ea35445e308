// server/process/cluster_bootstrap.cc — see cluster_bootstrap.h.
#include "server/process/cluster_bootstrap.h"

#include <algorithm>
#include <cstring>

#include "net/peer/cluster_id.h"
#include "runtime/log.h"
#include "server/replica/membership_join.h"

namespace ringkv::server {

// Several members: the raft peer transport on the first --listen-peer-urls, wired to the node (Ready
// messages out; received messages, unreachable/snapshot reports, members queries and removed notices
// in). The member's peers come from node.wiring() (etcd_server keeps them equal to the replicated
// member records), not from `identity`: a member that joined a running cluster has ids the flags do not
// give. nullptr and logged when it cannot start.
std::unique_ptr<net::peer::peer_transport> start_peers(const server_config& config, const member_identity& identity,
                                                       etcd_server& server,
                                                       const std::optional<net::peer::peer_tls_setup>& tls) {
  raft_driver& raft_node = server.member().driver();
  if (config.listen_peer_urls.empty()) {
    log::error("several members need --listen-peer-urls");
    return nullptr;
  }
  auto listen = bind_endpoint(config.listen_peer_urls.front());
  if (!listen) {
    log::error("listen address is not an IP address", {{"url", config.listen_peer_urls.front().url}});
    return nullptr;
  }
  for (const auto& member : identity.members) {
    if (member.peer_urls.empty() || !peer_endpoint(member.peer_urls.front())) {
      log::error("--initial-cluster peer URL is not http://address:port", {{"name", member.name}});
      return nullptr;
    }
  }
  peer_wiring& wiring = raft_node.wiring();
  net::peer::peer_transport_config peer_config;
  peer_config.cluster_id = wiring.cluster_id;
  peer_config.local_id = raft_node.id();
  peer_config.listen = *listen;
  peer_config.tls = tls;
  auto peers = std::make_unique<net::peer::peer_transport>(
      peer_config,
      net::peer::peer_callbacks{
          [&server, &raft_node](raft::Message&& message) {
            server.member().heard_from(message.from);  // --strict-reconfig-check's view of the connections
            raft_node.step(std::move(message));
          },
          [&server, &raft_node](raft::NodeId peer) {
            server.member().lost_contact(peer);
            raft_node.report_unreachable(peer);
          },
          [&raft_node](raft::NodeId peer, raft::SnapshotStatus status) { raft_node.report_snapshot(peer, status); },
          [&wiring] { return wiring.members_query ? wiring.members_query() : std::string(); },
          [&wiring] {
            if (wiring.on_removed) wiring.on_removed();
          },
      });
  if (int rc = peers->start(); rc < 0) {
    log::error("cannot listen for peer traffic",
               {{"url", config.listen_peer_urls.front().url}, {"error", std::strerror(-rc)}});
    return nullptr;
  }
  raft_node.connect_peers([transport = peers.get()](const raft::Message& message) { transport->send(message); });
  if (wiring.attach) wiring.attach(peers.get());
  log::info("peer transport started", {{"listen-peer-urls", config.listen_peer_urls.front().url},
                                       log::hex_id("member-id", raft_node.id()), log::hex_id("cluster-id", wiring.cluster_id)});
  return peers;
}

// Several members: the flags must describe this member the way --initial-cluster does (a new cluster's
// ids come from there; a joining member is found in the cluster by these URLs).
std::string check_cluster_flags(const server_config& config, const member_identity& identity, bool fresh) {
  if (!identity.multi_member()) return {};
  std::vector<std::string> advertised;
  for (const auto& url : config.initial_advertise_peer_urls) advertised.push_back(url.url);
  std::vector<std::string> listed = config.initial_cluster.at(config.name);
  std::sort(advertised.begin(), advertised.end());
  std::sort(listed.begin(), listed.end());
  if (advertised != listed && fresh)
    return "--initial-advertise-peer-urls does not match the --initial-cluster entry of '" + config.name + "'";
  return {};  // --initial-cluster-state existing with an empty data dir joins (server/membership_join.h)
}

}  // namespace ringkv::server
