// raft/log.cc: log appends, conflict truncation, compaction and the fast-backtracking search.
#include "raft/log.h"

#include <algorithm>

namespace ringkv::raft {

std::span<const Entry> RaftLog::range_bytes(Index low, uint64_t bytes_max, uint64_t* bytes_out) const {
  Index last = last_index();
  uint64_t bytes = 0;
  Index high = low;
  if (low > last) {
    *bytes_out = 0;
    return {};
  }
  bytes = at(low).data.size();
  while (high < last) {
    uint64_t next_bytes = at(high + 1).data.size();
    if (bytes + next_bytes > bytes_max) break;
    bytes += next_bytes;
    ++high;
  }
  *bytes_out = bytes;
  return range(low, high);
}

void RaftLog::truncate_after(Index index) {
  assert(index >= committed && "committed entries are never truncated");
  assert(index >= snapshot_index_);
  if (index >= last_index()) return;
  entries_.resize(head_ + (index - snapshot_index_));
  stable = std::min(stable, index);
  persist_handed = std::min(persist_handed, index);
  for (PersistRecord& record : persist_records) record.last = std::min(record.last, index);
}

void RaftLog::compact_to(Index index, Term t) {
  assert(index <= last_index() && index > snapshot_index_);
  assert(term(index) == t);
  head_ += index - snapshot_index_;
  snapshot_index_ = index;
  snapshot_term_ = t;
  if (head_ > 1024 && head_ * 2 > entries_.size()) {  // reclaim the dead prefix, amortised O(1)
    entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

void RaftLog::reset_to(Index index, Term t) {
  entries_.clear();
  head_ = 0;
  snapshot_index_ = index;
  snapshot_term_ = t;
  committed = std::max(committed, index);
  applied = index;
  stable = std::min(stable, index);
  persist_handed = index;  // the snapshot itself is handed out for persistence (Ready::snapshot)
  for (PersistRecord& record : persist_records) record.last = std::min(record.last, index);
}

Index RaftLog::find_conflict_by_term(Index index, Term t) const {
  index = std::min(index, last_index());
  while (index > snapshot_index_) {
    if (at(index).term <= t) return index;
    --index;
  }
  return snapshot_index_;
}

std::optional<Index> RaftLog::maybe_append(Index index, Term t, std::span<const Entry> entries) {
  if (!matches(index, t)) return std::nullopt;
  Index last_new = index + entries.size();
  // First entry that is new or conflicts with ours; entries before it are already here.
  size_t offset = 0;
  for (; offset < entries.size(); ++offset) {
    const Entry& e = entries[offset];
    if (e.index <= snapshot_index_) continue;  // covered by our snapshot: committed, hence equal
    if (e.index > last_index() || at(e.index).term != e.term) break;
  }
  if (offset < entries.size()) {
    Index conflict = entries[offset].index;
    if (conflict <= last_index()) truncate_after(conflict - 1);
    for (; offset < entries.size(); ++offset) append(entries[offset]);
  }
  return last_new;
}

}  // namespace ringkv::raft
