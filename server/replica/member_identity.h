// server/replica/member_identity.h — who this member is and which members the cluster started with:
// the member and cluster ids, derived from the flags (and then settled by membership_join.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "server/common/config.h"

namespace ringkv::server {

struct cluster_member {
  uint64_t id = 0;
  std::string name;
  std::vector<std::string> peer_urls;
};

struct member_identity {
  uint64_t member_id = 0;
  uint64_t cluster_id = 0;
  std::vector<cluster_member> members;  // the initial members, this one included, sorted by id
  bool multi_member() const { return members.size() > 1; }
};
// Deterministic ids from the name, peer URLs and cluster token. A single member (no --initial-cluster,
// or one entry) keeps the ids it always had (its data dir's WAL votes for them); with several members
// every id comes from net/peer/cluster_id.h, so all members agree on them without talking.
// etcd_server's constructor then settles the identity for good (server/membership_join.h): the one
// persisted in the data dir wins; a member joining a running cluster asks the cluster.
member_identity derive_identity(const server_config& config);

}  // namespace ringkv::server
