// server/replica/membership.h — the cluster's member records as replicated state: id, name, peer URLs, client
// URLs, learner flag. Pure (no I/O): rebuilt by applying raft entries in log order, saved in snapshots.
//
// Two kinds of raft entries change it:
//   - raft conf-change entries (raft/conf_change.h): kBootstrap (index 1 of a new cluster), kAddVoter
//     (new voter or learner promotion), kAddLearner, kRemoveNode. They carry only ids (raft's format).
//   - membership entries (normal entries, payload kind `membership_payload_kind`, below):
//       stage_add         {id, peer URLs, is_learner}: proposed by MemberAdd just before its conf change;
//                         the conf change moves the staged record into the member list, so the peer URLs
//                         are replicated before any member has to reach the new one
//       update_peer_urls  {id, peer URLs}: MemberUpdate
//       publish           {id, name, client URLs}: a member announces itself once it has a leader (etcd's
//                         "publish"); peer URLs ride along and are used only if the record has none
//                         (members known from a bootstrap entry that named no URLs)
//       promote_ask, reconfig_check_ask, ask_answer: questions for the leader (below);
//                         they change no state
//
// Entry payload (after raft_payload.h's 9-byte header [u8 kind = 64][u64 request id]):
//   [u8 op][etcdserverpb.Member protobuf]                       ops stage_add, update_peer_urls, publish
//   [u8 op][u64 asker][u64 nonce][u64 target][u8 grpc code][message]   ops promote_ask, ask_answer, reconfig_check_ask
// Snapshot data (node snapshot_state / restore_snapshot hooks):
//   [u32 0xFFFFFFFF][u32 'RKM1'][u32 section bytes][section][state machine bytes (kv_applier::snapshot)]
//   section = [u32 n][n x (u32 len, Member protobuf)]  members
//             [u32 n][n x (u32 len, Member protobuf)]  staged adds
//             [u32 n][n x u64]                          removed ids
// Older snapshots (no prefix) start with kv_applier's u32 alarm count, never 0xFFFFFFFF: they are read
// as "no membership section" and the members come from the initial cluster flags, as before.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "raft/conf_change.h"
#include "raft/types.h"
#include "server/common/errors.h"
#include "server/replica/raft_payload.h"

namespace etcdserverpb {
class Member;
}

namespace ringkv::server {

// Normal raft entries whose kind byte is this carry a member change. raft_payload.h (not this file's
// owner) should reserve it so no other proposal kind takes the value.
inline constexpr uint8_t membership_payload_kind = proposal_kind_reserved_membership;
static_assert(membership_payload_kind > proposal_kind_max, "membership entries need a kind of their own");

struct member_record {
  uint64_t id = 0;
  std::string name;                      // empty until the member published itself
  std::vector<std::string> peer_urls;
  std::vector<std::string> client_urls;  // empty until the member published itself
  bool is_learner = false;
  bool operator==(const member_record&) const = default;
};

// A record with only an id and peer URLs (name and client URLs come when the member publishes).
member_record make_member(uint64_t id, std::vector<std::string> peer_urls = {}, std::string name = {});

enum class member_op : uint8_t {
  stage_add = 1, update_peer_urls = 2, publish = 3, promote_ask = 4, ask_answer = 5, reconfig_check_ask = 6,
};

struct member_change {
  member_op op = member_op::publish;
  member_record record;
};

void to_proto(const member_record& record, etcdserverpb::Member* out);
member_record from_proto(const etcdserverpb::Member& member);

std::string encode_member_change(const member_change& change);
std::optional<member_change> decode_member_change(std::string_view bytes);
// The whole raft entry payload, and its decoding (nullopt unless the kind byte is membership_payload_kind).
std::string encode_membership_payload(request_id_t request_id, const member_change& change);
std::optional<decoded_payload> decode_membership_payload(std::string_view entry);

// Questions only the leader can answer, asked by another member through the log (etcd forwards
// MemberPromote to the leader over HTTP; here the log is the channel, as for lease asks):
//   promote_ask        only the leader knows how far a learner's log matches: it checks its progress of
//                      `target` and proposes AddVoter(target) (applied before it answers)
//   reconfig_check_ask only the leader hears from every member (followers talk to the leader alone): it
//                      answers etcd's strict reconfiguration check of the connections (adding a voter:
//                      target 0; removing `target`) with ok or "etcdserver: unhealthy cluster"
//
//   asker (follower)                     raft log                           leader
//   ask(id) ─propose─> [*_ask {asker, nonce, target}] ──apply──> does / checks it
//   waits for nonce <─apply── [ask_answer {asker, nonce, target, status}] <─propose─┘
//
// Only a leader applying an ask of its own term answers it (an ask replayed after a restart, or from an
// earlier term, is left alone: its asker gave up or times out with etcd's "request timed out"). None of
// these entries changes replicated state.
struct member_ask {
  uint64_t asker = 0;   // member id of the member waiting for the answer
  uint64_t nonce = 0;   // unique per asker process
  uint64_t target = 0;  // promote_ask: the learner; reconfig_check_ask: the member to remove, 0 = a voter add
  rpc_status status;    // ask_answer only: etcd's status (promote: ok = promoted)
};
inline constexpr size_t member_ask_bytes_min = 26;  // op, 3 x u64, code
// op must be promote_ask, reconfig_check_ask or ask_answer.
std::string encode_member_ask(member_op op, const member_ask& message);
// nullopt unless `bytes` is one of those ops (op byte first) with a known gRPC code.
std::optional<std::pair<member_op, member_ask>> decode_member_ask(std::string_view bytes);
bool is_member_ask_op(member_op op);

// etcd 3.4's errors for the Cluster service (rpctypes).
namespace member_errors {
rpc_status not_found();           // NotFound "etcdserver: member not found"
rpc_status peer_url_exists();     // FailedPrecondition "etcdserver: Peer URLs already exists"
rpc_status not_learner();         // FailedPrecondition "etcdserver: can only promote a learner member"
rpc_status learner_not_ready();   // FailedPrecondition "...can only promote a learner member which is in sync with leader"
rpc_status too_many_learners();   // FailedPrecondition "etcdserver: too many learner members in cluster"
rpc_status bad_urls();            // InvalidArgument "etcdserver: given member URLs are invalid"
rpc_status not_enough_started();  // FailedPrecondition "etcdserver: re-configuration failed due to not enough started members"
rpc_status id_exists();           // FailedPrecondition "etcdserver: member ID already exist"
rpc_status not_for_learner();     // Unavailable "etcdserver: rpc not supported for learner"
rpc_status unhealthy();           // Unavailable "etcdserver: unhealthy cluster"
}  // namespace member_errors

inline constexpr size_t learners_max = 1;      // etcd 3.4's maxLearners
inline constexpr size_t staged_adds_max = 16;  // abandoned stage_add records kept at most

class membership {
 public:
  // kBootstrap: `voters` become members; names/URLs come from `known` where the id matches.
  void bootstrap(std::span<const uint64_t> voters, std::span<const member_record> known);
  // A committed raft conf change (kBootstrap included, with `known`).
  void apply_conf_change(const raft::ConfChange& change, std::span<const member_record> known = {});
  // A committed membership entry; not ok (state unchanged) when it names an unknown member.
  rpc_status apply(const member_change& change);

  const member_record* find(uint64_t id) const;
  bool is_removed(uint64_t id) const { return removed_.contains(id); }
  bool empty() const { return members_.empty(); }
  const std::map<uint64_t, member_record>& members() const { return members_; }  // by id
  const std::map<uint64_t, member_record>& staged() const { return staged_; }
  const std::set<uint64_t>& removed() const { return removed_; }
  raft::ConfState conf_state() const;
  size_t learner_count() const;
  // A member (not `except`) that already has one of `urls` as a peer URL.
  bool peer_url_taken(std::span<const std::string> urls, uint64_t except = 0) const;
  // etcd's strict reconfiguration checks (a member counts as started once it published its name).
  bool ready_to_add_voter() const;
  bool ready_to_remove_voter(uint64_t id) const;

  std::string encode() const;
  static std::optional<membership> decode(std::string_view bytes);
  bool operator==(const membership&) const = default;

 private:
  std::map<uint64_t, member_record> members_;
  std::map<uint64_t, member_record> staged_;
  std::set<uint64_t> removed_;
};

// Snapshot data with the membership section in front of the state machine's bytes.
std::string wrap_snapshot(const membership& members, std::string_view state);
struct unwrapped_snapshot {
  bool valid = false;                    // false: a membership prefix that does not decode
  std::optional<membership> members;     // absent in snapshots written before membership changes
  std::string_view state;                // the state machine's bytes
};
unwrapped_snapshot unwrap_snapshot(std::string_view data);

}  // namespace ringkv::server
