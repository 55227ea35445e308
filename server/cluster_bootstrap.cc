// server/cluster_bootstrap.cc — see cluster_bootstrap.h.
#include "server/cluster_bootstrap.h"

#include <algorithm>
#include <cstring>

#include "net/peer/cluster_id.h"
#include "server/log.h"

namespace ringkv::server {

// "[::1]" or "127.0.0.1" followed by ":port": what net::endpoint::parse reads.
std::optional<net::endpoint> bind_endpoint(const url_endpoint& url) {
  std::string address = url.bind_address.find(':') != std::string::npos ? "[" + url.bind_address + "]"
                                                                        : url.bind_address;
  return net::endpoint::parse(address + ":" + std::to_string(url.port));
}

// Several initial members: the raft peer transport on the first --listen-peer-urls, every other member
// added by its first peer URL, and the node wired to it (Ready messages out, received messages, and
// unreachable/snapshot reports in). nullptr and logged when it cannot start.
std::unique_ptr<net::peer::peer_transport> start_peers(const server_config& config, const member_identity& identity,
                                                       node& raft_node) {
  if (config.listen_peer_urls.empty()) {
    log::error("several members need --listen-peer-urls");
    return nullptr;
  }
  auto listen = bind_endpoint(config.listen_peer_urls.front());
  if (!listen) {
    log::error("listen address is not an IP address", {{"url", config.listen_peer_urls.front().url}});
    return nullptr;
  }
  net::peer::peer_transport_config peer_config;
  peer_config.cluster_id = identity.cluster_id;
  peer_config.local_id = identity.member_id;
  peer_config.listen = *listen;
  std::vector<std::pair<raft::NodeId, net::endpoint>> others;
  for (const auto& member : identity.members) {
    if (member.id == identity.member_id) continue;
    auto where = member.peer_urls.empty() ? std::nullopt : net::peer::endpoint_of_peer_url(member.peer_urls.front());
    if (!where) {
      log::error("--initial-cluster peer URL is not http://address:port", {{"name", member.name}});
      return nullptr;
    }
    others.emplace_back(member.id, *where);
  }
  auto peers = std::make_unique<net::peer::peer_transport>(
      peer_config,
      net::peer::peer_callbacks{
          [&raft_node](raft::Message&& message) { raft_node.step(std::move(message)); },
          [&raft_node](raft::NodeId peer) { raft_node.report_unreachable(peer); },
          [&raft_node](raft::NodeId peer, raft::SnapshotStatus status) { raft_node.report_snapshot(peer, status); },
      });
  if (int rc = peers->start(); rc < 0) {
    log::error("cannot listen for peer traffic",
               {{"url", config.listen_peer_urls.front().url}, {"error", std::strerror(-rc)}});
    return nullptr;
  }
  for (const auto& [id, where] : others) peers->add_peer(id, where);
  raft_node.connect_peers([transport = peers.get()](const raft::Message& message) { transport->send(message); });
  log::info("peer transport started", {{"listen-peer-urls", config.listen_peer_urls.front().url},
                                       {"members", uint64_t(identity.members.size())},
                                       {"cluster-id", identity.cluster_id}});
  return peers;
}

// Several members: the flags must describe this member the way --initial-cluster does (its ids come
// from there), and a member with no state cannot join an existing cluster (MemberAdd is not built).
std::string check_cluster_flags(const server_config& config, const member_identity& identity, bool fresh) {
  if (!identity.multi_member()) return {};
  std::vector<std::string> advertised;
  for (const auto& url : config.initial_advertise_peer_urls) advertised.push_back(url.url);
  std::vector<std::string> listed = config.initial_cluster.at(config.name);
  std::sort(advertised.begin(), advertised.end());
  std::sort(listed.begin(), listed.end());
  if (advertised != listed)
    return "--initial-advertise-peer-urls does not match the --initial-cluster entry of '" + config.name + "'";
  if (fresh && config.initial_cluster_state == cluster_state::existing_cluster)
    return "--initial-cluster-state existing with an empty data dir: joining a running cluster needs "
           "MemberAdd, which is not built yet (start every member with --initial-cluster-state new)";
  return {};
}

}  // namespace ringkv::server
