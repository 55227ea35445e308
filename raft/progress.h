// raft/progress.h: the leader's view of one follower: how much of the log it holds (match), what to send
// next (next), and the flow-control state:
//   probe:     one append at a time until the follower's position is known (after a reject or restart)
//   replicate: appends pipelined optimistically, bounded by the inflight window (count and bytes)
//   snapshot:  an InstallSnapshot is outstanding; nothing else is sent until it is reported
// Invariant: match < next.
#pragma once

#include <cstdint>
#include <vector>

#include "raft/types.h"

namespace ringkv::raft {

// Appends in flight to one follower, as a ring of (last index, payload bytes), oldest first.
class Inflights {
 public:
  Inflights(uint32_t count_limit, uint64_t bytes_limit) : count_limit_(count_limit), bytes_limit_(bytes_limit) {}
  bool full() const { return count_ == count_limit_ || (bytes_limit_ != 0 && bytes_ >= bytes_limit_); }
  void add(Index last, uint64_t bytes);
  void free_up_to(Index index);  // the follower acknowledged everything through `index`
  void free_first();             // a heartbeat answered: let one more append out (lost appends)
  void reset() { start_ = count_ = 0; bytes_ = 0; }
  uint32_t count() const { return count_; }
  uint64_t bytes() const { return bytes_; }

 private:
  struct Flight {
    Index last;
    uint64_t bytes;
  };
  uint32_t count_limit_;
  uint64_t bytes_limit_;
  std::vector<Flight> ring_;  // grows up to count_limit_
  uint32_t start_ = 0;
  uint32_t count_ = 0;
  uint64_t bytes_ = 0;
};

enum class ProgressState : uint8_t { kProbe, kReplicate, kSnapshot };

struct Progress {
  Progress(Index next_index, uint32_t inflight_count_limit, uint64_t inflight_bytes_limit, bool learner)
      : next(next_index), is_learner(learner), inflights(inflight_count_limit, inflight_bytes_limit) {}

  Index match = 0;  // highest index known replicated (durable) on the follower
  Index next = 1;   // next index to send; match < next
  ProgressState state = ProgressState::kProbe;
  bool probe_sent = false;      // probe: an append is outstanding, wait for its answer or a heartbeat
  Index pending_snapshot = 0;   // snapshot: index of the snapshot being sent
  uint64_t heard_tick = 0;      // the leader's tick count when this follower last answered
  Index commit_sent = 0;        // highest commit index sent in an append
  bool is_learner = false;
  Inflights inflights;

  bool paused() const;
  void become_probe();
  void become_replicate();
  void become_snapshot(Index snapshot_index);
  // An acknowledgement of everything through `index`; false if it is stale.
  bool maybe_update(Index index);
  // A rejection of the append after `rejected`; the follower hinted its log may match up to `hint`.
  // False if the rejection is stale.
  bool maybe_decrease_to(Index rejected, Index hint);
  // Appends through `last` (carrying `bytes`) just went out.
  void sent_entries(Index last, uint64_t bytes);
};

}  // namespace ringkv::raft
