// server/bootstrap/initial_cluster.cc — see initial_cluster.h.
#include "server/bootstrap/initial_cluster.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "net/peer/cluster_id.h"
#include "runtime/log.h"
#include "server/bootstrap/discovery_srv.h"
#include "server/bootstrap/discovery_v2.h"
#include "server/common/tls_flags.h"
#include "storage/wal/data_dir.h"

namespace ringkv::server {
namespace {

// etcd's URLsMap.String(): "name=url" pairs, sorted, joined by ','.
std::string self_entry(const server_config& config) {
  std::vector<std::string> pairs;
  for (const auto& url : config.initial_advertise_peer_urls) pairs.push_back(config.name + "=" + url.url);
  std::sort(pairs.begin(), pairs.end());
  std::string text;
  for (const auto& pair : pairs) text += (text.empty() ? "" : ",") + pair;
  return text;
}

initial_cluster_plan refuse(std::string error) { return {std::nullopt, std::nullopt, std::move(error)}; }

// etcd's advice after a failed discovery (etcdmain/etcd.go), one line each.
void explain(discovery_error error, const server_config& config) {
  switch (error) {
    case discovery_error::duplicate_id:
      log::warn("member has been registered with discovery service",
                {{"name", config.name}, {"discovery-token", config.discovery_url}});
      log::warn("but could not find valid cluster configuration", {{"data-dir", config.data_dir}});
      log::warn("check data dir if previous bootstrap succeeded");
      log::warn("or use a new discovery token if previous bootstrap failed");
      return;
    case discovery_error::duplicate_name:
      log::warn("member with duplicated name has already been registered", {{"discovery-token", config.discovery_url}});
      log::warn("cURL the discovery token URL for details");
      log::warn("do not reuse discovery token; generate a new one to bootstrap a cluster");
      return;
    default:
      log::warn("failed to bootstrap; discovery token was already used", {{"discovery-token", config.discovery_url}});
      log::warn("do not reuse discovery token; generate a new one to bootstrap a cluster");
  }
}

initial_cluster_plan plan_by_discovery_url(server_config config) {
  config.initial_cluster_token = config.discovery_url;  // etcd: the token of a discovered cluster is its URL
  if (data_dir_holds_member(config.data_dir)) {
    log::warn("discovery token is ignored since cluster already initialized; valid logs are found",
              {{"data-dir", config.data_dir}, {"discovery-url", config.discovery_url}});
    return {std::move(config), std::nullopt, {}};
  }
  if (config.initial_cluster_state == cluster_state::existing_cluster)
    return refuse("--discovery bootstraps a new cluster: it cannot be used with --initial-cluster-state existing "
                  "(add the member with `etcdctl member add` and list the members with --initial-cluster)");
  discovery_settings settings;
  settings.url = config.discovery_url;
  settings.proxy = config.discovery_proxy;
  std::vector<std::string> urls;
  for (const auto& url : config.initial_advertise_peer_urls) urls.push_back(url.url);
  settings.member_id = net::peer::member_id(config.name, urls);  // the id the cluster will give this member
  settings.self = self_entry(config);
  log::info("bootstrapping through the discovery service",
            {{"discovery-url", config.discovery_url}, log::hex_id("member-id", settings.member_id),
             {"value", settings.self}});
  discovery_outcome outcome = join_discovery_cluster(settings);
  if (outcome.error == discovery_error::full_cluster && config.discovery_fallback_proxy)
    log::warn("discovery cluster is full; etcd 3.4 falls back to its v2 proxy (--discovery-fallback=proxy), "
              "which ringkv does not build: exiting as --discovery-fallback=exit does",
              {{"discovery-url", config.discovery_url}});
  if (outcome.error != discovery_error::none) {
    explain(outcome.error, config);
    std::string error = discovery_error_text(outcome.error);
    if (!outcome.detail.empty()) error += " (" + outcome.detail + ")";
    return refuse(error);
  }
  std::map<std::string, std::vector<std::string>> members;
  std::string problem;
  auto parsed = net::peer::parse_initial_cluster(outcome.initial_cluster, &problem);
  if (!parsed) return refuse("the discovery service's cluster is not usable: " + problem);
  for (auto& member : *parsed) members[member.name] = std::move(member.peer_urls);
  auto self = members.find(config.name);
  if (self == members.end() || std::set<std::string>(self->second.begin(), self->second.end()) !=
                                   std::set<std::string>(urls.begin(), urls.end()))
    return refuse("the discovery service's cluster '" + outcome.initial_cluster + "' does not list member '" +
                  config.name + "' with its --initial-advertise-peer-urls");
  config.initial_cluster = std::move(members);
  log::info("got the initial cluster from the discovery service",
            {{"discovery-url", config.discovery_url}, {"initial-cluster", outcome.initial_cluster}});
  return {std::move(config), std::nullopt, {}};
}

initial_cluster_plan plan_by_dns_srv(server_config config) {
  srv_cluster cluster = srv_initial_cluster(config);
  if (!cluster.error.empty()) {
    log::warn("failed to resolve during SRV discovery", {{"error", cluster.error}});
    return refuse(cluster.error);
  }
  for (const auto& [name, urls] : cluster.members)
    for (const auto& url : urls) log::info("got bootstrap from DNS for etcd-server", {{"node", name + "=" + url}});
  config.initial_cluster = std::move(cluster.members);
  if (config.initial_cluster.size() <= 1) return {std::move(config), std::nullopt, {}};  // alone: as without SRV
  member_identity identity = identity_from_peer_urls(config);
  return {std::move(config), std::move(identity), {}};
}

}  // namespace

bool data_dir_holds_member(const std::string& data_dir) {
  namespace fs = std::filesystem;
  std::error_code ignored;
  const fs::path member = fs::path(data_dir) / "member";
  if (fs::exists(member / std::string(storage::wal::identity_file_name), ignored)) return true;
  for (fs::directory_iterator it(member / "wal", ignored), end; !ignored && it != end; it.increment(ignored))
    if (it->path().extension() == ".wal") return true;
  return false;
}

member_identity identity_from_peer_urls(const server_config& config) {
  member_identity identity;
  std::vector<net::peer::initial_member> unnamed;
  for (const auto& [name, urls] : config.initial_cluster) {
    const uint64_t id = net::peer::member_id("", urls);
    unnamed.push_back({"", urls});
    // The others' names come when they publish; until then they are unnamed, as etcd's unstarted members.
    identity.members.push_back({id, name == config.name ? name : std::string(), urls});
    if (name == config.name) identity.member_id = id;
  }
  identity.cluster_id = net::peer::cluster_id(config.initial_cluster_token, std::move(unnamed));
  std::sort(identity.members.begin(), identity.members.end(),
            [](const cluster_member& a, const cluster_member& b) { return a.id < b.id; });
  return identity;
}

initial_cluster_plan plan_initial_cluster(const server_config& config) {
  initial_cluster_plan plan;
  if (!config.discovery_url.empty()) plan = plan_by_discovery_url(config);
  else if (!config.discovery_srv.empty()) plan = plan_by_dns_srv(config);
  else return {config, std::nullopt, {}};
  // The members found are checked as --initial-cluster's are (e.g. https peer URLs need peer TLS).
  if (plan.config)
    if (std::string problem = check_tls_flags(*plan.config); !problem.empty()) return refuse(problem);
  return plan;
}

}  // namespace ringkv::server
