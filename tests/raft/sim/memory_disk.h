// tests/raft/sim/memory_disk.h: MemoryDisk, what a simulated node has made durable (hard state, snapshot,
// entries after it), and Write, one Ready's worth of state to persist. Used by the simulator and the
// scenario harness: a crash keeps the disk and drops the writes still in flight.
#pragma once

#include <algorithm>
#include <memory>
#include <optional>
#include <vector>

#include "raft/node.h"

namespace ringkv::raft::sim {

struct Write {
  PersistSeq seq = 0;
  std::optional<HardState> hard_state;
  std::shared_ptr<const Snapshot> snapshot;
  std::vector<Entry> entries;
  uint64_t done_at = 0;  // simulated time when the write is durable (simulator only)

  static Write of(const Ready& rd) {
    return {rd.persist_seq, rd.hard_state, rd.snapshot, {rd.entries.begin(), rd.entries.end()}};
  }
};

struct MemoryDisk {
  HardState hard_state;
  std::shared_ptr<const Snapshot> snapshot;
  std::vector<Entry> entries;  // contiguous, after the snapshot

  // Applies one write as a WAL would: snapshot first, then entries replacing any at or after the first
  // one, then the hard state. False (nothing beyond the snapshot applied) if the entries leave a gap.
  bool apply(const Write& write) {
    if (write.snapshot) {
      snapshot = write.snapshot;
      entries.clear();
    }
    if (!write.entries.empty()) {
      Index first = write.entries.front().index;
      std::erase_if(entries, [&](const Entry& e) { return e.index >= first; });
      Index expected = entries.empty() ? (snapshot ? snapshot->meta.index + 1 : 1) : entries.back().index + 1;
      if (first != expected) return false;
      entries.insert(entries.end(), write.entries.begin(), write.entries.end());
    }
    if (write.hard_state) hard_state = *write.hard_state;
    return true;
  }
  // The application saved a snapshot and compacted raft's log to it.
  void compacted(std::shared_ptr<const Snapshot> saved) {
    std::erase_if(entries, [&](const Entry& e) { return e.index <= saved->meta.index; });
    snapshot = std::move(saved);
  }
  PersistedState load() const { return {hard_state, snapshot, entries}; }
};

}  // namespace ringkv::raft::sim
