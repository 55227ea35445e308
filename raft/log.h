// raft/log.h: RaftLog, the in-memory raft log behind the latest snapshot, and its cursors.
//
//   snapshot_index < applied <= ... (positions, all <= last_index)
//   [compacted ... snapshot_index] [first_index ... last_index]
//        applied  <= min(committed, stable)    entries handed out for apply
//        stable   <= persist_handed            durable on the caller's disk
//        persist_handed <= last_index          handed out for persistence by ready()
//
// The log keeps every entry after the last compaction in one vector (no per-entry allocation; payloads
// are SharedBytes slices). Compaction (compact_to) drops the prefix covered by a snapshot.
#pragma once

#include <cassert>
#include <deque>
#include <optional>
#include <span>
#include <vector>

#include "raft/types.h"

namespace ringkv::raft {

class RaftLog {
 public:
  Index snapshot_index() const { return snapshot_index_; }
  Term snapshot_term() const { return snapshot_term_; }
  Index first_index() const { return snapshot_index_ + 1; }
  Index last_index() const { return snapshot_index_ + (entries_.size() - head_); }
  Term last_term() const { return *term(last_index()); }

  // Term of the entry at `index`; nullopt if compacted away or beyond the end.
  std::optional<Term> term(Index index) const {
    if (index == snapshot_index_) return snapshot_term_;
    if (index < snapshot_index_ || index > last_index()) return std::nullopt;
    return at(index).term;
  }
  bool matches(Index index, Term t) const {
    std::optional<Term> have = term(index);
    return have && *have == t;
  }
  const Entry& at(Index index) const {
    assert(index > snapshot_index_ && index <= last_index());
    return entries_[head_ + (index - first_index())];
  }
  // Entries [low, high]; empty if low > high.
  std::span<const Entry> range(Index low, Index high) const {
    if (low > high) return {};
    assert(low >= first_index() && high <= last_index());
    return {entries_.data() + head_ + (low - first_index()), high - low + 1};
  }
  // Entries from `low` carrying at most `bytes_max` payload bytes (but at least one entry).
  std::span<const Entry> range_bytes(Index low, uint64_t bytes_max, uint64_t* bytes_out) const;

  void append(Entry entry) {
    assert(entry.index == last_index() + 1);
    entries_.push_back(std::move(entry));
  }
  // Drops every entry after `index` (a conflict); committed entries are never dropped.
  void truncate_after(Index index);
  // Drops every entry up to `index` (covered by a snapshot of term `t`).
  void compact_to(Index index, Term t);
  // Replaces the whole log with the snapshot point (index, t).
  void reset_to(Index index, Term t);

  // The largest index <= `index` whose term is <= `t` (fast backtracking); snapshot_index at worst.
  Index find_conflict_by_term(Index index, Term t) const;
  // Whether a log ending at (index, t) is at least as up to date as this one.
  bool is_up_to_date(Index index, Term t) const {
    return t > last_term() || (t == last_term() && index >= last_index());
  }
  // Appends `entries` after (index, t) if this log holds (index, t), dropping conflicting entries.
  // Returns the last index of the appended range, or nullopt if (index, t) does not match.
  std::optional<Index> maybe_append(Index index, Term t, std::span<const Entry> entries);

  Index committed = 0;       // known committed
  Index applied = 0;         // handed out for apply (or covered by the installed snapshot)
  Index stable = 0;          // durable on the caller's disk (reported via Node::mark_persisted)
  Index persist_handed = 0;  // handed out for persistence by ready()

  // One per ready() that handed out something to persist: once `seq` is durable, the log is durable
  // through `last` (clamped when a conflict truncates the log behind it).
  struct PersistRecord {
    uint64_t seq;
    Index last;
  };
  std::deque<PersistRecord> persist_records;

 private:
  Index snapshot_index_ = 0;
  Term snapshot_term_ = 0;
  std::vector<Entry> entries_;  // live entries are entries_[head_ ...]
  size_t head_ = 0;
};

}  // namespace ringkv::raft
