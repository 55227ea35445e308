// storage/etcd_snapshot/layout.h: etcd 3.4's backend layout (the buckets of its bbolt file), learned
// from Debian's golang-etcd-server-dev (mvcc/kvstore.go, mvcc/revision.go, lease/lessor.go,
// etcdserver/api/membership/store.go, auth/store.go, etcdserver/api/v3alarm):
//
//   key               revision key (mvcc/backend_encoding.h) -> mvccpb.KeyValue; tombstones: key only
//   meta              "consistent_index" -> u64 big-endian; "finishedCompactRev" and
//                     "scheduledCompactRev" -> a revision key (main, sub 0)
//   lease             lease id as u64 big-endian -> leasepb.Lease {ID = 1, TTL = 2, RemainingTTL = 3}
//   members           member id in lower-case hex -> JSON {"id":N,"peerURLs":[..],"isLearner":true?,
//                     "name":"..","clientURLs":[..]} (Go's json.Marshal of membership.Member)
//   members_removed   member id in hex -> "removed"
//   cluster           "clusterVersion" -> "3.4.0"
//   alarm             etcdserverpb.AlarmMember -> empty (ringkv writes none)
//   auth              "authEnabled" -> {0|1}, "authRevision" -> u64 big-endian
//   authUsers, authRoles   name -> authpb.User / authpb.Role (bytes here: storage does not read them)
// A snapshot file (Maintenance.Snapshot, `etcdctl snapshot save`) is this bbolt file followed by the
// sha256 of its bytes; etcdctl recognises the trailer by the file size: size % 512 == 32.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/mvcc/store.h"

namespace ringkv::storage::etcd_snapshot {

inline constexpr std::string_view key_bucket = "key";
inline constexpr std::string_view meta_bucket = "meta";
inline constexpr std::string_view lease_bucket = "lease";
inline constexpr std::string_view members_bucket = "members";
inline constexpr std::string_view members_removed_bucket = "members_removed";
inline constexpr std::string_view cluster_bucket = "cluster";
inline constexpr std::string_view alarm_bucket = "alarm";
inline constexpr std::string_view auth_bucket = "auth";
inline constexpr std::string_view auth_users_bucket = "authUsers";
inline constexpr std::string_view auth_roles_bucket = "authRoles";

inline constexpr std::string_view consistent_index_key = "consistent_index";
inline constexpr std::string_view finished_compact_key = "finishedCompactRev";
inline constexpr std::string_view scheduled_compact_key = "scheduledCompactRev";
inline constexpr std::string_view cluster_version_key = "clusterVersion";
inline constexpr std::string_view auth_enabled_key = "authEnabled";
inline constexpr std::string_view auth_revision_key = "authRevision";

inline constexpr size_t sha256_bytes = 32;
inline constexpr uint64_t trailer_alignment = 512;  // etcdctl: size % 512 == 32 means "has a sha256"

// A snapshot that is not what it claims (bad trailer, bad bucket contents); bbolt-level damage is
// bbolt::format_error. Both are std::runtime_error with a message naming what was wrong.
class snapshot_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Member {
  uint64_t id = 0;
  std::string name;
  std::vector<std::string> peer_urls;
  std::vector<std::string> client_urls;
  bool is_learner = false;
  bool operator==(const Member&) const = default;
};

// What a snapshot carries besides the key space and the leases.
struct ClusterState {
  std::vector<Member> members;
  std::vector<uint64_t> removed_member_ids;
  std::string cluster_version = "3.4.0";  // empty: not recorded
  uint64_t consistent_index = 0;
  bool auth_enabled = false;
  uint64_t auth_revision = 1;
  // The authUsers / authRoles buckets as they are: name -> authpb.User / authpb.Role bytes. The server's
  // auth store makes and checks them; storage only carries them (sorted by name when written).
  std::vector<std::pair<std::string, std::string>> auth_users;
  std::vector<std::pair<std::string, std::string>> auth_roles;
};

std::string member_key(uint64_t id);                  // lower-case hex, as types.ID.String()
std::optional<uint64_t> parse_member_key(std::string_view key);
std::string member_json(const Member& m);
// Parses a members-bucket value; throws snapshot_error on anything that is not such a JSON object.
Member parse_member_json(std::string_view json);

// leasepb.Lease carries exactly the store's lease record: {ID = 1, TTL = 2, RemainingTTL = 3}.
using LeaseValue = mvcc::MvccStore::LeaseRecord;
std::string lease_key(int64_t id);
std::string lease_value(const LeaseValue& l);
std::optional<LeaseValue> parse_lease_value(std::string_view bytes);

// The `key` bucket: a revision key (mvcc/backend_encoding.h; nullopt unless 17 bytes, 18 with 't')
// and its mvccpb.KeyValue (views into `bytes`; nullopt when malformed).
struct RevisionKey { int64_t main = 0; int64_t sub = 0; bool tombstone = false; };
std::optional<RevisionKey> parse_revision_key(std::string_view bytes);
std::optional<mvcc::KeyValueView> parse_key_value(std::string_view bytes);

std::string be64(uint64_t v);
std::optional<uint64_t> parse_be64(std::string_view bytes);

}  // namespace ringkv::storage::etcd_snapshot
