// raft/conf_change.h: membership changes, one node at a time, and their entry payload encoding.
// A node uses the latest configuration in its log, committed or not (a change takes effect when its
// entry is appended, and is reverted if a conflict truncates it). A leader proposes a new change only
// after the previous one and every entry of earlier terms are applied (see Node::propose_conf_change),
// which keeps any two successive configurations' majorities overlapping.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "raft/shared_bytes.h"
#include "raft/types.h"

namespace ringkv::raft {

enum class ConfChangeType : uint8_t {
  kAddVoter = 0,    // a new voter, or promote an existing learner
  kAddLearner = 1,  // a new learner (a voter is never demoted by this)
  kRemoveNode = 2,  // remove a voter or learner (may be the leader itself)
  kBootstrap = 3,   // index 1 of a new cluster: the initial voters (node_ids)
};

struct ConfChange {
  ConfChangeType type = ConfChangeType::kAddVoter;
  std::vector<NodeId> node_ids;  // exactly one, except kBootstrap
};

// Wire format: u8 type, u32 count, count x u64 node id, little endian.
SharedBytes encode_conf_change(const ConfChange& change);
std::optional<ConfChange> decode_conf_change(std::span<const uint8_t> bytes);

// `conf` after `change`; unchanged if the change does not apply (e.g. removing an absent node).
ConfState apply_conf_change(const ConfState& conf, const ConfChange& change);

bool is_voter(const ConfState& conf, NodeId id);
bool is_learner(const ConfState& conf, NodeId id);

}  // namespace ringkv::raft
