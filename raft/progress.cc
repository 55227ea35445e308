// raft/progress.cc: follower progress state transitions and the inflight window.
#include "raft/progress.h"

#include <algorithm>
#include <cassert>

namespace ringkv::raft {

void Inflights::add(Index last, uint64_t bytes) {
  assert(count_ < count_limit_);
  if (ring_.empty()) ring_.resize(count_limit_);  // allocated once, on first use
  size_t slot = (start_ + count_) % count_limit_;
  ring_[slot] = {last, bytes};
  ++count_;
  bytes_ += bytes;
}

void Inflights::free_up_to(Index index) {
  while (count_ > 0) {
    const Flight& oldest = ring_[start_];
    if (oldest.last > index) break;
    bytes_ -= oldest.bytes;
    start_ = (start_ + 1) % count_limit_;
    --count_;
  }
  if (count_ == 0) start_ = 0;
}

void Inflights::free_first() {
  if (count_ > 0) free_up_to(ring_[start_].last);
}

bool Progress::paused() const {
  switch (state) {
    case ProgressState::kProbe: return probe_sent;
    case ProgressState::kReplicate: return inflights.full();
    case ProgressState::kSnapshot: return true;
  }
  return true;
}

void Progress::become_probe() {
  if (state == ProgressState::kSnapshot) {
    next = std::max(match + 1, pending_snapshot + 1);
  } else {
    next = match + 1;
  }
  state = ProgressState::kProbe;
  probe_sent = false;
  pending_snapshot = 0;
  inflights.reset();
}

void Progress::become_replicate() {
  state = ProgressState::kReplicate;
  next = match + 1;
  probe_sent = false;
  pending_snapshot = 0;
  inflights.reset();
}

void Progress::become_snapshot(Index snapshot_index) {
  state = ProgressState::kSnapshot;
  pending_snapshot = snapshot_index;
  probe_sent = false;
  inflights.reset();
}

bool Progress::maybe_update(Index index) {
  bool updated = false;
  if (match < index) {
    match = index;
    updated = true;
    probe_sent = false;
  }
  next = std::max(next, index + 1);
  return updated;
}

bool Progress::maybe_decrease_to(Index rejected, Index hint) {
  if (state == ProgressState::kReplicate) {
    if (rejected <= match) return false;  // stale: already acknowledged beyond it
    next = match + 1;
    return true;
  }
  if (next - 1 != rejected) return false;  // stale: not the append we are waiting for
  next = std::max(std::min(rejected, hint + 1), match + 1);
  probe_sent = false;
  return true;
}

void Progress::sent_entries(Index last, uint64_t bytes) {
  switch (state) {
    case ProgressState::kReplicate:
      next = last + 1;
      inflights.add(last, bytes);
      break;
    case ProgressState::kProbe: probe_sent = true; break;
    case ProgressState::kSnapshot: assert(false && "no appends while a snapshot is outstanding"); break;
  }
}

}  // namespace ringkv::raft
