// raft/config.h: every tunable of a raft node, in one validated struct.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "raft/types.h"

namespace ringkv::raft {

struct Config {
  NodeId id = kNoNode;

  // Time is counted in ticks (the caller calls tick() at a fixed interval, e.g. every 100 ms).
  uint32_t heartbeat_ticks = 1;   // a leader sends heartbeats this often
  uint32_t election_ticks = 10;   // followers campaign after a random timeout in [election, 2*election)
  uint64_t random_seed = 0;       // seeds the election timeout randomisation (deterministic per node)

  bool pre_vote = true;           // campaign with a PreVote round first (no term inflation on rejoin)
  bool check_quorum = true;       // leader steps down without a live quorum; followers in touch with
                                  // a leader ignore votes (leader stickiness)

  // Flow control per follower in replicate state.
  uint32_t max_inflight_messages = 256;            // appends sent and not yet acknowledged
  uint64_t max_inflight_bytes = 64ull << 20;       // payload bytes sent and not yet acknowledged
  uint64_t max_append_bytes = 1ull << 20;          // payload bytes per append (at least one entry)
  uint32_t max_pending_read_requests = 1u << 16;   // read_index() calls waiting for a round
  uint64_t max_uncommitted_bytes = 64ull << 20;    // leader refuses proposals beyond this backlog (0: none)

  // What the caller can make durable and apply, checked before raft takes anything in (a forged or
  // corrupt message must not be accepted and then fail in the caller's hands):
  // - an entry's payload above max_entry_bytes (0: no limit) is refused: a local proposal is kInvalid, a
  //   forwarded one becomes a no-op, an append carrying one is dropped;
  // - a snapshot from the leader is taken only if accept_snapshot (when set) says it decodes.
  uint64_t max_entry_bytes = 0;
  std::function<bool(const Snapshot&)> accept_snapshot;

  // A new cluster: the initial voters, written as the bootstrap entry at index 1 when there is no
  // persisted state. Empty for a node that joins an existing cluster (it learns from the leader).
  std::vector<NodeId> bootstrap_voters;

  // The application's applied index at restart (entries up to it are not handed out again).
  Index applied = 0;

  // Empty if usable, else what is wrong.
  std::string validate() const {
    if (id == kNoNode) return "raft config: id must be non-zero";
    if (heartbeat_ticks == 0) return "raft config: heartbeat_ticks must be > 0";
    if (election_ticks <= heartbeat_ticks) return "raft config: election_ticks must exceed heartbeat_ticks";
    if (max_inflight_messages == 0) return "raft config: max_inflight_messages must be > 0";
    if (max_append_bytes == 0) return "raft config: max_append_bytes must be > 0";
    for (NodeId voter : bootstrap_voters) {
      if (voter == kNoNode) return "raft config: bootstrap voter id must be non-zero";
    }
    return {};
  }
};

}  // namespace ringkv::raft
