// server/bootstrap/initial_cluster.h — where a member's initial cluster comes from, decided in main()
// before the runtime starts, as etcd 3.4's PeerURLsMapAndToken and bootstrap do:
//   --initial-cluster (or nothing: this member alone)   the flags as given
//   --discovery URL                                       the cluster token becomes the URL; a data dir
//       that was never started runs the v2 discovery protocol (discovery_v2.h) and takes its answer as
//       --initial-cluster; a data dir that holds a member already keeps its members (discovery is
//       ignored, with etcd's warning). A full cluster ends the start: etcd 3.4 then falls back to its v2
//       proxy (--discovery-fallback=proxy, the default), which ringkv does not build, so both fallbacks
//       exit, and the log says so.
//   --discovery-srv DOMAIN                                DNS SRV records (discovery_srv.h), at every
//       start (etcd resolves them every time; a data dir with its identity file ignores them later).
// Member ids: the registered id is net::peer::member_id(--name, --initial-advertise-peer-urls), the id
// the cluster then gives this member (member_identity.h). With SRV the other members' names are not
// known ("0", "1", ... differ from member to member), so the ids come from the peer URLs alone:
// member_id("", urls) and cluster_id(token, members without names); every member computes the same ones.
#pragma once

#include <optional>
#include <string>

#include "server/common/config.h"
#include "server/replica/member_identity.h"

namespace ringkv::server {

struct initial_cluster_plan {
  std::optional<server_config> config;      // the settings to start with; nullopt: do not start
  std::optional<member_identity> identity;  // set when the ids must not come from derive_identity (SRV)
  std::string error;                        // why not, in etcd's words where etcd has them
};

initial_cluster_plan plan_initial_cluster(const server_config& config);

// True when `data_dir` already holds a member (its identity file, or a WAL segment): discovery is then
// ignored, as etcd ignores it once the WAL exists.
bool data_dir_holds_member(const std::string& data_dir);

// The ids of an SRV-bootstrapped cluster (see above); `config.initial_cluster` has this member under
// --name. Exposed for tests.
member_identity identity_from_peer_urls(const server_config& config);

}  // namespace ringkv::server
