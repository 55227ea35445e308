// raft/types.h: the values raft exchanges with its caller: ids, log entries, hard state, membership,
// snapshots, messages and read states. Plain data; behaviour lives in raft/node.h.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "raft/shared_bytes.h"

namespace ringkv::raft {

using NodeId = uint64_t;  // 0 is "nobody"
using Term = uint64_t;
using Index = uint64_t;   // log position; 0 is "before the first entry"
inline constexpr NodeId kNoNode = 0;
// The most a message may move a member's term forward. Real elections raise terms one at a time (a
// member without pre-vote that campaigns every second for 136 years stays below it); a message far
// beyond it is forged or corrupt and is dropped, so no frame can push a term near its wrap.
inline constexpr Term kTermAdvanceMax = Term{1} << 32;
// No term reaches this; with the advance bound above, term + 1 never wraps.
inline constexpr Term kTermCeiling = Term{1} << 62;

enum class EntryType : uint8_t {
  kNormal = 0,      // application payload (empty payload: the leader's no-op of a new term)
  kConfChange = 1,  // payload is an encoded ConfChange (raft/conf_change.h)
};

struct Entry {
  Term term = 0;
  Index index = 0;
  EntryType type = EntryType::kNormal;
  SharedBytes data;
};

// What must be durable before certain messages leave (see raft/node.h, "durability").
struct HardState {
  Term term = 0;
  NodeId vote = kNoNode;
  Index commit = 0;
  bool operator==(const HardState&) const = default;
};

// Membership: voters decide elections and commits; learners only receive the log.
struct ConfState {
  std::vector<NodeId> voters;    // sorted, unique
  std::vector<NodeId> learners;  // sorted, unique, disjoint from voters
  bool operator==(const ConfState&) const = default;
};

struct SnapshotMeta {
  Index index = 0;  // last entry the snapshot covers
  Term term = 0;    // term of that entry
  ConfState conf;   // membership as of `index`
};

// The state machine as of meta.index. `data` is opaque to raft (the application's encoding).
struct Snapshot {
  SnapshotMeta meta;
  SharedBytes data;
};

enum class MessageType : uint8_t {
  kAppend = 0,             // leader -> follower: entries after (index, log_term), commit
  kAppendResponse,         // index = last matching index, or reject with reject_hint/log_term
  kHeartbeat,              // leader -> follower: commit, context = read round
  kHeartbeatResponse,      // context echoes the read round
  kVote,                   // candidate: term, index/log_term = its last entry
  kVoteResponse,           // reject = denied
  kPreVote,                // like kVote for term+1, changes no state
  kPreVoteResponse,
  kSnapshot,               // leader -> follower: install `snapshot`
  kPropose,                // follower -> leader: forwarded proposal (entries)
  kReadIndex,              // follower -> leader: context = caller's read id
  kReadIndexResponse,      // leader -> follower: index = read index, context = read id
  kTimeoutNow,             // leader -> transferee: campaign now
  kTransferLeader,         // follower -> leader: forwarded transfer request, from = transferee
};
inline constexpr uint8_t kMessageTypeCount = 14;

// context of kVote/kPreVote when the campaign is a leader transfer: voters skip the lease check.
inline constexpr uint64_t kCampaignTransferContext = 1;

struct Message {
  MessageType type = MessageType::kAppend;
  NodeId from = kNoNode;
  NodeId to = kNoNode;
  Term term = 0;
  Term log_term = 0;
  Index index = 0;
  Index commit = 0;
  Index reject_hint = 0;
  uint64_t context = 0;
  bool reject = false;
  std::vector<Entry> entries;
  std::shared_ptr<const Snapshot> snapshot;  // kSnapshot only
};

// The answer to read_index(context): once the local applied index reaches `index`, a read of the state
// machine is linearizable for that request.
struct ReadState {
  Index index = 0;
  uint64_t context = 0;
};

}  // namespace ringkv::raft
