// raft/conf_change.cc: encoding and application of single-node membership changes.
#include "raft/conf_change.h"

#include <algorithm>
#include <cstring>

namespace ringkv::raft {
namespace {

constexpr size_t kHeaderBytes = 1 + 4;
constexpr uint32_t kNodeIdsMax = 1024;  // a bootstrap list longer than this is malformed

void insert_sorted(std::vector<NodeId>& ids, NodeId id) {
  auto it = std::lower_bound(ids.begin(), ids.end(), id);
  if (it == ids.end() || *it != id) ids.insert(it, id);
}
bool erase_sorted(std::vector<NodeId>& ids, NodeId id) {
  auto it = std::lower_bound(ids.begin(), ids.end(), id);
  if (it == ids.end() || *it != id) return false;
  ids.erase(it);
  return true;
}

}  // namespace

SharedBytes encode_conf_change(const ConfChange& change) {
  SharedBytes bytes = SharedBytes::allocate(kHeaderBytes + 8 * change.node_ids.size());
  uint8_t* out = bytes.mutable_data();
  out[0] = static_cast<uint8_t>(change.type);
  uint32_t count = static_cast<uint32_t>(change.node_ids.size());
  std::memcpy(out + 1, &count, 4);
  for (size_t i = 0; i < change.node_ids.size(); ++i) std::memcpy(out + kHeaderBytes + 8 * i, &change.node_ids[i], 8);
  return bytes;
}

std::optional<ConfChange> decode_conf_change(std::span<const uint8_t> bytes) {
  if (bytes.size() < kHeaderBytes || bytes[0] > static_cast<uint8_t>(ConfChangeType::kBootstrap)) return std::nullopt;
  uint32_t count = 0;
  std::memcpy(&count, bytes.data() + 1, 4);
  if (count > kNodeIdsMax || bytes.size() != kHeaderBytes + 8ull * count) return std::nullopt;
  ConfChange change;
  change.type = static_cast<ConfChangeType>(bytes[0]);
  bool bootstrap = change.type == ConfChangeType::kBootstrap;
  if (bootstrap ? count == 0 : count != 1) return std::nullopt;  // single-node changes name exactly one node
  change.node_ids.resize(count);
  for (uint32_t i = 0; i < count; ++i) {
    std::memcpy(&change.node_ids[i], bytes.data() + kHeaderBytes + 8 * i, 8);
    if (change.node_ids[i] == kNoNode) return std::nullopt;
  }
  return change;
}

bool is_voter(const ConfState& conf, NodeId id) {
  return std::binary_search(conf.voters.begin(), conf.voters.end(), id);
}
bool is_learner(const ConfState& conf, NodeId id) {
  return std::binary_search(conf.learners.begin(), conf.learners.end(), id);
}

ConfState apply_conf_change(const ConfState& conf, const ConfChange& change) {
  ConfState next = conf;
  switch (change.type) {
    case ConfChangeType::kBootstrap:
      next.voters = change.node_ids;
      std::sort(next.voters.begin(), next.voters.end());
      next.voters.erase(std::unique(next.voters.begin(), next.voters.end()), next.voters.end());
      next.learners.clear();
      break;
    case ConfChangeType::kAddVoter:
      erase_sorted(next.learners, change.node_ids[0]);
      insert_sorted(next.voters, change.node_ids[0]);
      break;
    case ConfChangeType::kAddLearner:
      if (!is_voter(next, change.node_ids[0])) insert_sorted(next.learners, change.node_ids[0]);
      break;
    case ConfChangeType::kRemoveNode:
      if (erase_sorted(next.voters, change.node_ids[0]) && next.voters.empty()) return conf;  // never empty
      erase_sorted(next.learners, change.node_ids[0]);
      break;
  }
  return next;
}

}  // namespace ringkv::raft
