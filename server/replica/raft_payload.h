// server/replica/raft_payload.h — what one raft log entry carries: a proposal kind, the id of the request
// waiting for its result (0 when nobody waits, e.g. after a restart), and the request protobuf.
//
// On-disk/wire layout (little endian), versioned by the kind byte:
//   [u8 kind][u64 request_id][protobuf bytes of the etcdserverpb message for that kind]
// Replayed from the WAL on restart, so the layout must stay readable: add kinds, never renumber.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringkv::server {

enum class proposal_kind : uint8_t {
  put = 1,               // etcdserverpb.PutRequest
  delete_range = 2,      // etcdserverpb.DeleteRangeRequest
  txn = 3,               // etcdserverpb.TxnRequest
  compaction = 4,        // etcdserverpb.CompactionRequest
  lease_grant = 5,       // etcdserverpb.LeaseGrantRequest (ID already chosen by the proposer)
  lease_revoke = 6,      // etcdserverpb.LeaseRevokeRequest
  alarm = 7,             // etcdserverpb.AlarmRequest
  lease_checkpoint = 8,  // etcdserverpb.LeaseCheckpointRequest
  lease_ask = 9,         // lease_ask below: a member asks the leader to renew a lease / tell its TTL
  lease_answer = 10,     // lease_answer below: the leader's answer to one lease_ask
  // Auth (server/auth): etcdserverpb.Auth*Request. Passwords never enter the log: user_add and
  // user_change_password carry the bcrypt hash (hashed before proposing) in `password`; authenticate
  // carries in `password` the token prefix (16 letters) then the hash the proposer verified.
  auth_enable = 11,
  auth_disable = 12,
  authenticate = 13,
  user_add = 14,
  user_delete = 15,
  user_change_password = 16,
  user_grant_role = 17,
  user_revoke_role = 18,
  role_add = 19,
  role_delete = 20,
  role_grant_permission = 21,
  role_revoke_permission = 22,
  as_user = 23,  // as_user below: another kind's entry proposed by an authenticated user
};
inline constexpr uint8_t proposal_kind_max = 23;
// Taken outside this enum: 64 = membership entries (server/membership.h, membership_payload_kind), which
// have their own decoder. New kinds here stay below 64.
inline constexpr uint8_t proposal_kind_reserved_membership = 64;

using request_id_t = uint64_t;
inline constexpr size_t payload_header_bytes = 9;

struct decoded_payload {
  proposal_kind kind;
  request_id_t request_id;
  std::string_view message;  // protobuf bytes, a view into the entry
};

// Lease questions only the leader can answer (it alone keeps lease expiry, as etcd's primary lessor),
// asked by another member through the log, because the log is the only channel between members:
//
//   follower                         raft log                          leader (lease primary)
//   keepalive(id) ─propose─> [lease_ask{me, nonce, id, renew}] ─apply─> renew locally: TTL, or 0 if
//                                                                       unknown/expired (never revived)
//   waits for nonce <─apply── [lease_answer{me, nonce, ttl}] <─propose──┘
//
// Neither entry changes replicated state (every member applies both as no-ops apart from the leader's
// local renewal and the asker's waiter), so HashKV and snapshots are unaffected.
enum class lease_ask_mode : uint8_t {
  renew = 1,         // LeaseKeepAlive: answer = granted TTL in s after renewing, 0 = not found/expired
  time_to_live = 2,  // LeaseTimeToLive: answer = remaining TTL in s, -1 = not found
};
inline constexpr uint8_t lease_ask_mode_max = 2;

// Layout: [u8 mode][u64 asker member id][u64 nonce][i64 lease id], little endian (25 bytes).
struct lease_ask {
  lease_ask_mode mode = lease_ask_mode::renew;
  uint64_t asker = 0;  // member id of the member waiting for the answer
  uint64_t nonce = 0;  // unique per asker process
  int64_t lease_id = 0;
};
// Layout: [u64 asker member id][u64 nonce][i64 ttl_s], little endian (24 bytes).
struct lease_answer {
  uint64_t asker = 0;
  uint64_t nonce = 0;
  int64_t ttl_s = 0;  // meaning per lease_ask_mode
};
inline constexpr size_t lease_ask_bytes = 25;
inline constexpr size_t lease_answer_bytes = 24;

std::string encode_lease_ask(const lease_ask& ask);
std::optional<lease_ask> decode_lease_ask(std::string_view message);  // nullopt: wrong size or mode
std::string encode_lease_answer(const lease_answer& answer);
std::optional<lease_answer> decode_lease_answer(std::string_view message);  // nullopt: wrong size

// A request proposed while auth was enabled, with the identity etcd puts in its raft request header
// (user name, auth revision the user was checked at): the applier checks the permissions again
// against the auth store at this point of the log (a revision older than the store's is refused).
// Layout: [u64 auth revision][u32 user name bytes][user name][u8 inner kind][inner message], LE.
struct as_user_payload {
  std::string_view user;
  uint64_t auth_revision = 0;
  proposal_kind kind = proposal_kind::put;
  std::string_view message;  // a view into the entry
};
std::string encode_as_user(std::string_view user, uint64_t auth_revision, proposal_kind kind, std::string_view message);
// nullopt: too short, an unknown inner kind, or as_user inside as_user.
std::optional<as_user_payload> decode_as_user(std::string_view message);

// Little-endian u64 helpers shared by the payload and state-machine snapshot encodings.
void put_u64_le(std::string& out, uint64_t value);
uint64_t get_u64_le(std::string_view in, size_t at);  // needs at + 8 <= in.size()

std::string encode_payload(proposal_kind kind, request_id_t request_id, std::string_view message);
// nullopt when the entry is too short or has an unknown kind (a bug or corruption: the caller decides).
std::optional<decoded_payload> decode_payload(std::string_view entry);

}  // namespace ringkv::server
