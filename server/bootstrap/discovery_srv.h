// server/bootstrap/discovery_srv.h — the initial cluster from DNS SRV records (--discovery-srv DOMAIN,
// --discovery-srv-name SUFFIX), as etcd 3.4's embed.Config.GetDNSClusterNames and pkg/srv.GetCluster
// build it:
//   _etcd-server-ssl[-SUFFIX]._tcp.DOMAIN   every target:port is a member at https://target:port
//   _etcd-server[-SUFFIX]._tcp.DOMAIN       every target:port is a member at http://target:port
// A record whose target resolves to the same address:port as one of this member's
// --initial-advertise-peer-urls is this member (named --name; its scheme must match the record's);
// the others are named "0", "1", ... until they publish their names. Without a record for this member
// the start fails ("cannot find local etcd member ... in SRV records").
// Differences from etcd, both on purpose:
//   - every member's peer URL is written with the address its target resolves to (ringkv's peer
//     transport dials addresses, it resolves no names); this member keeps its advertised URL;
//   - both services' records are used. etcd 3.4.23 uses only _etcd-server-ssl's (its code appends the
//     plain records only when their lookup failed, a bug fixed in 3.5).
// Lookups go through libresolv's res_query (the resolver of /etc/resolv.conf), blocking: it runs in
// main() before the runtime starts, as etcd resolves at every start.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "server/common/config.h"

namespace ringkv::server {

struct srv_record {
  uint16_t priority = 0;
  uint16_t weight = 0;
  uint16_t port = 0;
  std::string target;  // without the trailing dot
};

// The SRV records of `name` ("_etcd-server._tcp.example.com"), ordered by priority, then weight
// (heavier first), target and port. nullopt and *error when the lookup fails or finds none.
std::optional<std::vector<srv_record>> lookup_srv(const std::string& name, std::string* error);

// "address:port" ("10.0.0.1:2380", "[fd00::1]:2380") that host:port resolves to (IPv4 first, as Go's
// ResolveTCPAddr prefers); nullopt when it does not resolve.
using tcp_resolver = std::function<std::optional<std::string>(const std::string& host, uint16_t port)>;
std::optional<std::string> resolve_tcp_address(const std::string& host, uint16_t port);

struct srv_cluster {
  std::map<std::string, std::vector<std::string>> members;  // name -> peer URLs (this member: --name)
  std::string error;                                         // empty when the cluster was found
};

// The whole lookup for `config` (both services), or what failed.
srv_cluster srv_initial_cluster(const server_config& config);

// One service's records turned into members (pure but for `resolve`; exposed for tests). `next_name`
// numbers the members that are not this one, across services. Adds to `cluster`; returns an error text
// when no record could be used.
std::string add_srv_members(const std::string& scheme, const std::vector<srv_record>& records,
                            const server_config& config, const tcp_resolver& resolve, unsigned& next_name,
                            srv_cluster& cluster);

}  // namespace ringkv::server
