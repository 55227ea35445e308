// storage/mvcc/compaction.cc: Compact(rev). Reads below rev fail at once; every key keeps its newest
// version <= rev unless that is a tombstone (etcd's keyIndex.compact). The memory is released by
// compaction_step(), a bounded slice of keys per call, so no single call stalls the apply loop.
// Reads, HashKV and snapshots apply the same rule logically, so the physical progress is invisible.
#include "storage/mvcc/store.h"

namespace ringkv::storage::mvcc {

Result<CompactionResponse> MvccStore::compact(revision_t rev) {
  if (rev <= compact_rev_) return Errc::compacted;
  if (rev > current_rev_) return Errc::future_revision;
  advance_caught_up_watchers();
  compact_rev_ = rev;
  compaction_pending_ = true;
  compaction_cursor_ = 0;
  return CompactionResponse{current_rev_};
}

uint32_t MvccStore::first_retained(const KeyEntry& e, revision_t at) {
  int64_t i = e.find_at(at);
  if (i < 0) return 0;
  return static_cast<uint32_t>(e.versions()[i].tombstone ? i + 1 : i);
}

void MvccStore::remove_key(key_id_t id) {
  KeyEntry& e = keys_[id];
  assert(e.empty());
  std::string_view key = e.key();
  hash_.erase(HashIndex::tag_of(key), id);
  order_.erase(key);
  keys_.free(id);
}

void MvccStore::compact_key(key_id_t id, revision_t at) {
  KeyEntry& e = keys_[id];
  if (!e.in_use()) return;
  uint32_t drop = first_retained(e, at);
  if (drop == 0) return;
  int64_t freed = 0;
  for (uint32_t i = 0; i < drop; ++i) {
    freed += static_cast<int64_t>(e.key().size() + e.versions()[i].value_len) +
             stored_version_overhead_bytes;
  }
  e.erase_front(drop);
  size_bytes_ -= freed;
  if (e.empty()) remove_key(id);
}

void MvccStore::compaction_step() {
  if (!compaction_pending_) return;
  key_id_t end = keys_.id_limit();
  key_id_t stop = compaction_cursor_ + std::min<key_id_t>(config_.compaction_step_keys, end - compaction_cursor_);
  for (; compaction_cursor_ < stop; ++compaction_cursor_) compact_key(compaction_cursor_, compact_rev_);
  // Release history entries below the compaction point: no watcher may start below it.
  for (uint32_t n = 0; n < config_.compaction_step_log_entries && !log_.empty() && log_.front().main < compact_rev_;
       ++n) {
    log_.pop_front();
  }
  bool log_done = log_.empty() || log_.front().main >= compact_rev_;
  if (compaction_cursor_ >= keys_.id_limit() && log_done) compaction_pending_ = false;
}

}  // namespace ringkv::storage::mvcc
