// server/replica/member_identity.cc — see member_identity.h.
#include "server/replica/member_identity.h"

#include <algorithm>
#include <cassert>
#include <functional>

#include "net/peer/cluster_id.h"

namespace ringkv::server {

member_identity derive_identity(const server_config& config) {
  std::string member_key = config.name;
  for (const auto& url : config.initial_advertise_peer_urls) member_key += "|" + url.url;
  std::string cluster_key = config.initial_cluster_token;
  for (const auto& [name, urls] : config.initial_cluster)
    for (const auto& url : urls) cluster_key += "|" + name + "=" + url;
  member_identity identity;
  if (config.initial_cluster.size() <= 1) {
    identity.member_id = std::hash<std::string>{}(member_key) | 1;  // never 0 (raft's "nobody")
    identity.cluster_id = std::hash<std::string>{}(cluster_key) | 1;
    cluster_member self{identity.member_id, config.name, {}};
    for (const auto& url : config.initial_advertise_peer_urls) self.peer_urls.push_back(url.url);
    identity.members.push_back(std::move(self));
    return identity;
  }
  std::vector<net::peer::initial_member> initial;
  for (const auto& [name, urls] : config.initial_cluster) initial.push_back({name, urls});
  identity.cluster_id = net::peer::cluster_id(config.initial_cluster_token, initial);
  for (const auto& member : initial) {
    uint64_t id = net::peer::member_id(member.name, member.peer_urls);
    identity.members.push_back({id, member.name, member.peer_urls});
    if (member.name == config.name) identity.member_id = id;
  }
  std::sort(identity.members.begin(), identity.members.end(),
            [](const cluster_member& a, const cluster_member& b) { return a.id < b.id; });
  assert(identity.member_id != 0);  // the config parser requires --name in --initial-cluster
  return identity;
}

}  // namespace ringkv::server
