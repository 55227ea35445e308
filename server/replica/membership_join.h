// server/replica/membership_join.h — settles who this member is before its raft node starts: the identity
// persisted in the data dir, or (a new member joining a running cluster) the one the cluster gives it.
//
//   joining member (empty data dir, --initial-cluster-state existing)      any listed member's peer port
//     for each other --initial-cluster peer URL, until one answers:
//       connect ── members query frame (header cluster 0, from 0, to 0) ──>  peer_transport
//               <── frame {cluster id, its member id, 0}: MemberListResponse ── (wiring.members_query)
//     our member = the record whose peer URLs include our --initial-advertise-peer-urls (MemberAdd
//     made it); cluster id from the answer; both persisted, then raft starts with an empty log and no
//     bootstrap entry: the leader sends the log (or a snapshot).
//
// Identity file `<data-dir>/member/ringkv-identity` (written once: temp file, fsync, rename, dir fsync):
//   [8 bytes "RKIDENT1"][u64 XXH3-64 of body][body = etcdserverpb.MemberListResponse: header.cluster_id,
//   header.member_id, members = the members known at first start (names/URLs for the bootstrap entry)]
// A restart with it ignores --initial-cluster and the cluster flags. Data dirs from before the file
// existed derive the ids from the flags, as they always did, and get the file.
//
// This runs once at start-up, before anything is served, with plain blocking sockets and file calls
// (the constructor that needs the ids cannot await); every wait is bounded. An https peer URL is asked
// over TLS (OpenSSL on the non-blocking socket, poll for what it wants), verified as peer connections are.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "net/tcp/endpoint.h"
#include "net/tls/tls_context.h"
#include "server/common/config.h"
#include "server/replica/member_identity.h"
#include "storage/wal/data_dir.h"

namespace ringkv::server {

inline constexpr const char* identity_file_name = "ringkv-identity";
static_assert(std::string_view(identity_file_name) == storage::wal::identity_file_name);  // data_dir.h knows it
inline constexpr std::chrono::milliseconds join_query_timeout{2000};  // per member asked
inline constexpr std::chrono::milliseconds join_deadline{10000};      // all attempts together

// `derived` is derive_identity(config); `fresh`: the data dir holds no raft state. Throws
// std::runtime_error (with what to do) when the identity file is corrupt or the cluster cannot be
// joined.
member_identity settle_identity(const server_config& config, member_identity derived, bool fresh);

// Writes the identity file (durably; throws std::runtime_error). A member started alone writes it when
// its first other member is added: a restart must reach that member before the log that names it is
// committed again (the commit index on disk can lag what was applied).
void persist_identity(const server_config& config, const member_identity& identity);

// The identity file's bytes and their decoding (nullopt: corrupt).
std::string encode_identity(const member_identity& identity);
std::optional<member_identity> decode_identity(std::string_view bytes);

// Where a member's peer URL is reached: http://address:port, with `localhost` read as 127.0.0.1 (etcd's
// default peer URL is http://localhost:2380; net/peer resolves no names). nullopt: not such a URL.
std::optional<net::endpoint> peer_endpoint(std::string_view peer_url);

// Asks one member (peer URL) for the cluster's members; the MemberListResponse bytes and cluster id.
struct members_answer {
  uint64_t cluster_id = 0;
  uint64_t answering_member = 0;
  std::string member_list;  // etcdserverpb.MemberListResponse
};
// An https peer URL is asked over TLS with `tls` (a dialing context: peer_tls.h), which must then be set.
std::optional<members_answer> query_members(const std::string& peer_url, std::chrono::milliseconds timeout,
                                            std::string* error, const net::tls::tls_context* tls = nullptr);

}  // namespace ringkv::server
