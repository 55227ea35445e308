// storage/mvcc/store.h: MvccStore, the etcd v3 key-value state machine (keys, revisions, txns, leases,
// compaction, watch history, HashKV, quota accounting, snapshot/restore). Pure: no I/O, no clocks, no
// threads; time is passed in as `now_ms` and only affects local lease expiry, never replicated state.
//
// Caller contract (the server's raft apply loop, single writer):
//   before proposing   validate_put / validate_delete_range / validate_txn / validate_range (etcd's
//                      gRPC-level checks: empty key, ignore_* with value/lease, too many ops, duplicates)
//   apply each entry   put / delete_range / txn / compact / lease_grant / lease_revoke / lease_checkpoint
//   between entries    compaction_step() while compaction_pending()   (each step is bounded; the
//                      server runs one per loop turn, other work in between)
//   after a batch      for (id : take_ready_watchers()) watch_poll(id, max_events) -> send events
//                      (drain ready watchers before applying a Compaction entry, as etcd's synced
//                      watchers would already have received those events)
//   reads              range / range_view at any time between applies
//   leader only        lease_promote on election, lease_demote on losing it, lease_expired(now) ->
//                      propose LeaseRevoke, lease_checkpoints_due(now) -> propose LeaseCheckpoint
// Views returned by range_view stay valid until the next mutating call.
#pragma once

#include <cassert>
#include <deque>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "storage/mvcc/errors.h"
#include "storage/mvcc/hash_index.h"
#include "storage/mvcc/key_table.h"
#include "storage/mvcc/ordered_index.h"
#include "storage/mvcc/types.h"

namespace ringkv::storage::mvcc {

// All tunables of the store, with etcd's defaults.
struct StoreConfig {
  int64_t max_txn_ops = 128;              // etcd --max-txn-ops
  int64_t min_lease_ttl_s = 2;            // etcd: ceil(3/2 election timeout) = 2 s at default flags
  uint32_t compaction_step_keys = 256;    // keys examined per compaction_step (bench: well under 1 ms)
  uint32_t compaction_step_log_entries = 4096;   // history entries released per compaction_step
  uint32_t watch_scan_entries_limit = 65536;     // history entries a range watcher scans per poll
};

// etcd's quota costs (etcdserver/quota.go): compare size_bytes() + cost against --quota-backend-bytes.
inline constexpr int64_t quota_kv_overhead_bytes = 256;
inline constexpr int64_t quota_lease_overhead_bytes = 64;
// Accounting of stored state for size_bytes(): each stored version costs key + value + this.
inline constexpr int64_t stored_version_overhead_bytes = 64;
inline constexpr int64_t stored_lease_bytes = 64;
inline constexpr int64_t max_lease_ttl_s = 9000000000;  // etcd lease.MaxLeaseTTL
inline constexpr int64_t lease_forever_ms = INT64_MAX;

class MvccStore {
 public:
  explicit MvccStore(StoreConfig config = {});
  MvccStore(const MvccStore&) = delete;
  MvccStore& operator=(const MvccStore&) = delete;

  // ---- request checks done before proposing (etcd api/v3rpc/key.go) ----
  static Errc validate_range(const RangeRequest& r);
  static Errc validate_put(const PutRequest& r);
  static Errc validate_delete_range(const DeleteRangeRequest& r);
  static Errc validate_txn(const TxnRequest& r, int64_t max_txn_ops);

  // ---- batching: overlap the cache misses of many independent requests ----
  // Call with the keys of the next requests (e.g. a batch of gets after a ReadIndex, or the entries
  // about to be applied) before executing them one by one: the hash slots and then the key entries
  // of all keys (then their newest values) are loaded in parallel instead of one miss after another.
  // Pure hint, no effect on results. Keys are processed prefetch_batch_limit at a time.
  static constexpr size_t prefetch_batch_limit = 32;
  void prefetch(std::span<const std::string_view> keys) const;

  // ---- KV ----
  Result<RangeResponse> range(const RangeRequest& r) const;
  Result<RangeViewResponse> range_view(const RangeRequest& r) const;
  Result<PutResponse> put(const PutRequest& r);
  Result<DeleteRangeResponse> delete_range(const DeleteRangeRequest& r);
  Result<TxnResponse> txn(const TxnRequest& r);

  // ---- compaction: compact() takes effect at once for reads; the memory is released in steps ----
  Result<CompactionResponse> compact(revision_t rev);
  bool compaction_pending() const { return compaction_pending_ && snapshots_in_progress_ == 0; }
  // Steps remain, whether or not a snapshot in progress holds them now.
  bool compaction_unfinished() const { return compaction_pending_; }
  void compaction_step();

  // ---- leases ----
  Result<LeaseGrantResponse> lease_grant(lease_id_t id, int64_t ttl_s, int64_t now_ms);
  Result<LeaseRevokeResponse> lease_revoke(lease_id_t id);
  Errc lease_checkpoint(lease_id_t id, int64_t remaining_ttl_s);
  Result<LeaseRenewResponse> lease_renew(lease_id_t id, int64_t now_ms);
  Result<LeaseTimeToLiveResponse> lease_time_to_live(lease_id_t id, int64_t now_ms, bool with_keys) const;
  std::vector<lease_id_t> lease_list() const;
  void lease_promote(int64_t now_ms, int64_t extend_ms);
  void lease_demote();
  bool lease_primary() const { return lease_primary_; }
  std::vector<lease_id_t> lease_expired(int64_t now_ms, size_t limit) const;
  std::vector<LeaseCheckpoint> lease_checkpoints_due(int64_t now_ms, size_t limit) const;

  // ---- watch ----
  watch_id_t watch_create(const WatchCreateRequest& r);
  Errc watch_cancel(watch_id_t id);
  Result<WatchPollResult> watch_poll(watch_id_t id, size_t max_events);
  // The same poll without copies: each event goes to `visit` as views into the store, valid during
  // the call only (the result's `events` stays empty). The server encodes straight from them.
  // The poll ends early once the events handed out carry `max_bytes` of keys and values (at least one
  // event goes out), so a caller can bound what one poll adds to a stream's output.
  Result<WatchPollResult> watch_poll_views(watch_id_t id, size_t max_events, size_t max_bytes,
                                           const std::function<void(const EventView&)>& visit);
  std::vector<watch_id_t> take_ready_watchers();
  // The caller took this watcher from take_ready_watchers() but did not poll it (its stream was full):
  // its events still wait. Until its next poll it is neither caught up nor moved on by compact(), and
  // writes no longer look at it (it keeps only its position: a stalled watcher costs writers nothing).
  void watch_hold(watch_id_t id);
  // A held watcher may go on (its stream drained): it is listed ready, and its next poll catches it up
  // from the history at its position (or answers compacted). No effect on a watcher not held.
  void watch_resume(watch_id_t id);
  size_t watcher_count() const { return watchers_.size(); }
  // True when the watcher has been handed every event up to the current revision: it is not on the
  // ready list (etcd's "synced"); false for unknown ids. Progress notifications go only to these.
  bool watch_caught_up(watch_id_t id) const;

  // ---- maintenance ----
  Result<HashKvResponse> hash_kv(revision_t rev) const;
  revision_t current_revision() const { return current_rev_; }
  revision_t compact_revision() const { return compact_rev_; }
  int64_t size_bytes() const { return size_bytes_; }
  size_t key_count() const { return order_.size(); }
  static int64_t quota_cost(const PutRequest& r);
  static int64_t quota_cost(const TxnRequest& r);
  static int64_t quota_cost_lease_grant() { return quota_lease_overhead_bytes; }
  // etcd's quota check: true when the request still fits under quota_bytes.
  bool quota_available(int64_t cost, int64_t quota_bytes) const { return size_bytes_ + cost < quota_bytes; }

  // ---- snapshot: the whole logical state, compact binary, xxh3-64 checksummed ----
  // Taken a slice at a time, so a large state never stalls the apply loop: begin_snapshot() captures
  // the state as of now (call it between entries); each step() appends the next keys to `out`. Writes
  // applied between steps are at later revisions and left out, so the bytes are exactly the state at
  // the beginning. While a snapshot is in progress the physical compaction waits (compaction_pending()
  // is false) so every version it needs stays; restore() abandons it. The snapshotter only appends to
  // `out`; between steps the caller may take all of `out`'s bytes away (write them to a file and clear
  // it), as every byte is in the checksum by the time the call that wrote it returns.
  enum class SnapshotStep { more, done, abandoned };
  class Snapshotter {
   public:
    Snapshotter(Snapshotter&& other) noexcept;
    Snapshotter& operator=(Snapshotter&&) = delete;
    ~Snapshotter();
    // Appends at least one key (or the end) and stops once `out` grew by bytes_budget.
    SnapshotStep step(size_t bytes_budget);
    static constexpr size_t whole_state = SIZE_MAX / 2;  // a budget that finishes in one step

   private:
    friend class MvccStore;
    Snapshotter(const MvccStore& store, std::string& out);
    void hash_new_bytes();
    const MvccStore* store_;
    std::string* out_;
    uint64_t epoch_;
    revision_t rev_;           // versions above it were written after the beginning
    revision_t compact_rev_;   // the compaction point at the beginning
    std::string resume_after_;  // last key written (empty: none yet)
    size_t hashed_to_;          // out_ bytes already in the checksum
    void* hash_state_;          // XXH3_state_t
    bool finished_ = false;
  };
  Snapshotter begin_snapshot(std::string& out) const;
  // The whole snapshot in one call (tests, small states).
  std::string snapshot() const;

  // ---- export and import in revision order (etcd's backend layout: storage/etcd_snapshot) ----
  // One stored version as etcd's `key` bucket holds it: a tombstone carries only the key.
  struct RevisionRecord {
    revision_t main = 0;
    int64_t sub = 0;
    bool tombstone = false;
    KeyValueView kv;  // valid until the cursor's next call or the next mutation
  };
  // Every version that survives the compaction point (as reads, HashKV and snapshots see it) at
  // revisions up to the current one when the cursor began, in (main, sub) order. Like a Snapshotter
  // it holds off the physical compaction while alive, and later writes are left out, so a caller may
  // interleave next() with applies. Versions at or below the compaction point (one per key at most)
  // are found in passes over the key table, window_records at a time; later ones from the history log.
  class RevisionCursor {
   public:
    RevisionCursor(RevisionCursor&& other) noexcept;
    RevisionCursor& operator=(RevisionCursor&&) = delete;
    ~RevisionCursor();
    revision_t revision() const { return rev_; }
    revision_t compact_revision() const { return compact_rev_; }
    void rewind();
    // The next record, or false at the end. Throws std::logic_error when restore() replaced the state.
    bool next(RevisionRecord& out);
    static constexpr size_t window_records = 65536;

   private:
    friend class MvccStore;
    struct Slot {
      revision_t main;
      uint32_t sub;
      key_id_t id;
    };
    explicit RevisionCursor(const MvccStore& store);
    void fill_window();
    const MvccStore* store_;
    uint64_t epoch_;
    revision_t rev_;
    revision_t compact_rev_;
    std::vector<Slot> window_;    // the compacted part, next few in order
    size_t window_at_ = 0;
    revision_t last_main_ = -1;     // the last compacted-part record handed out (-1: none)
    int64_t last_sub_ = -1;
    bool compacted_done_ = false;
    size_t log_at_ = 0;             // position in the store's history log
  };
  RevisionCursor scan_revisions() const { return RevisionCursor(*this); }

  // ---- one revision read over several loop turns (a Range reply made a slice at a time) ----
  // The revision `r` reads at, with range()'s checks (future, compacted, bad request); nothing is read.
  Result<revision_t> range_read_revision(const RangeRequest& r) const;
  // Bumped when restore() replaced the state. A read at revision R over several loop turns stays
  // exact while this is unchanged and compact_revision() <= R: a compaction at C <= R keeps every
  // version a read at R needs, so nothing has to be held.
  uint64_t state_epoch() const { return snapshot_epoch_; }
  // Calls visit(view) for each key live at `rev` in [from, range_end) in key order (range_end "\0": no
  // bound; it must not be empty) until visit returns false. Views are valid during the call only.
  template <class F>
  void scan_range(std::string_view from, std::string_view range_end, revision_t rev, F&& visit) const;

  struct LeaseRecord {
    lease_id_t id = no_lease;
    int64_t ttl_s = 0;
    int64_t remaining_ttl_s = 0;  // checkpointed remaining TTL; 0 = none
  };
  std::vector<LeaseRecord> lease_records() const;  // sorted by id

  // Replaces the whole state from records in revision order (an etcd backend). Errors leave the store
  // empty; call begin first, then leases, versions, and finish.
  class Importer {
   public:
    explicit Importer(MvccStore& store);  // clears the state
    Errc lease(const LeaseRecord& l);
    // Versions must come in strictly increasing (main, sub) order; a tombstone needs a live key.
    Errc version(const RevisionRecord& r);
    // current: the store's revision (at least the last version's); compact: etcd's finished compaction
    // (-1: none); a later scheduled one is then applied with compact(). Returns how many keys named a
    // lease that does not exist (etcd warns and serves them unleased; so does ringkv).
    Result<int64_t> finish(revision_t current, revision_t compact);

   private:
    MvccStore& s_;
    revision_t last_main_ = 0;
    int64_t last_sub_ = -1;
  };

  // Replaces the whole state; on error the store is left unchanged. Watchers are kept and re-checked.
  Errc restore(std::string_view bytes);
  // What restore() would answer, without touching any store or building the state (a dry parse).
  static Errc check_snapshot(std::string_view bytes);

 private:
  struct Lease {
    int64_t ttl_s = 0;
    int64_t remaining_ttl_s = 0;  // checkpointed; 0 = unset, use ttl_s
    int64_t expiry_ms = lease_forever_ms;
    std::unordered_set<key_id_t> keys;
  };
  struct LogEntry {  // the history in revision order, for range watchers
    int64_t main;
    uint32_t sub;
    key_id_t id;
  };
  struct Watcher {
    WatchCreateRequest req;
    int64_t next_main;
    uint32_t next_sub = 0;
    bool single_key;
    bool listed_ready = false;
    bool held = false;  // see watch_hold(); cleared by a poll. Held: off key_watchers_/range_watchers_
  };

  // reads
  revision_t read_rev() const { return current_rev_ + (sub_ > 0 ? 1 : 0); }
  bool live(const KeyEntry& e) const { return !e.empty() && !e.back().tombstone; }
  Errc range_core(const RangeRequest& r, RangeViewResponse& out) const;
  template <class F>
  int64_t visit_range(std::string_view key, std::string_view range_end, revision_t rev, F&& f) const;
  KeyValueView view_of(const KeyEntry& e, const Version& v) const;

  // writes
  void begin_write();
  void end_write();
  key_id_t find_or_create(std::string_view key);
  void write_put(key_id_t id, std::string_view value, lease_id_t lease);
  void write_tombstone(key_id_t id);
  void append_version(key_id_t id, const Version& v);
  PutResponse put_core(const PutRequest& r);
  DeleteRangeResponse delete_core(const DeleteRangeRequest& r);
  RangeResponse range_in_txn(const RangeRequest& r);

  // txn
  bool compare_holds(const Compare& c) const;
  void compare_to_path(const TxnRequest& t, std::vector<bool>& path) const;
  Errc check_txn_ops(const TxnRequest& t, const std::vector<bool>& path, size_t& at) const;
  void apply_txn(const TxnRequest& t, const std::vector<bool>& path, size_t& at, TxnResponse& resp);

  // compaction
  void compact_key(key_id_t id, revision_t at);
  void remove_key(key_id_t id);
  // Index of the oldest version that survives a compaction at `at` (logical view, whatever the
  // physical progress of the compaction).
  static uint32_t first_retained(const KeyEntry& e, revision_t at);

  // leases
  void lease_attach(lease_id_t lease, key_id_t id);
  void lease_detach(lease_id_t lease, key_id_t id);

  // watch
  void notify_watchers(key_id_t id);
  bool watch_matches(const WatchCreateRequest& r, std::string_view key) const;
  // The event for version v as views, or nullopt when the watcher's filters drop it.
  std::optional<EventView> event_view(const Watcher& w, const KeyEntry& e, const Version& v) const;
  void mark_ready(watch_id_t id, Watcher& w);
  // Writes see a watcher through key_watchers_ / range_watchers_ only while it is not held.
  void watch_listen(watch_id_t id, const Watcher& w);
  void watch_unlisten(watch_id_t id, const Watcher& w);
  void advance_caught_up_watchers();

  // snapshot
  template <class Build>
  static Errc parse_snapshot(std::string_view body, Build&& build);
  void clear_state();
  void rebuild_derived();

  StoreConfig config_;
  KeyTable keys_;
  HashIndex hash_;
  OrderedIndex order_;
  std::deque<LogEntry> log_;

  revision_t current_rev_ = 1;
  revision_t compact_rev_ = -1;
  uint32_t sub_ = 0;  // > 0 while a write txn has made changes at current_rev_ + 1
  bool compaction_pending_ = false;
  key_id_t compaction_cursor_ = 0;
  int64_t size_bytes_ = 0;
  mutable uint32_t snapshots_in_progress_ = 0;  // Snapshotters alive: physical compaction waits
  uint64_t snapshot_epoch_ = 0;                  // bumped by restore(): abandons snapshots in progress

  std::unordered_map<lease_id_t, Lease> leases_;
  bool lease_primary_ = false;

  std::unordered_map<watch_id_t, Watcher> watchers_;
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // Single-key watchers by key; looked up by string_view for every write while any exist.
  std::unordered_map<std::string, std::vector<watch_id_t>, StringHash, std::equal_to<>> key_watchers_;
  std::vector<watch_id_t> range_watchers_;
  std::vector<watch_id_t> ready_;
  watch_id_t next_watch_id_ = 1;
};

// Calls f(id, entry, version) for every key live at `rev` in the range, in key order; returns how many.
// range_end: empty = the single key; "\0" = no upper bound (etcd's mkGteRange).
template <class F>
inline int64_t MvccStore::visit_range(std::string_view key, std::string_view range_end, revision_t rev, F&& f) const {
  if (range_end.empty()) {
    key_id_t id = hash_.find(key);
    if (id == no_key_id) return 0;
    const KeyEntry& e = keys_[id];
    int64_t i = e.find_at(rev);
    if (i < 0 || e.versions()[i].tombstone) return 0;
    f(id, e, e.versions()[i]);
    return 1;
  }
  bool unbounded = range_end.size() == 1 && range_end[0] == '\0';
  int64_t count = 0;
  for (auto c = order_.lower_bound(key); c.valid(); c.next()) {
    const KeyEntry& e = keys_[c.id()];
    if (!unbounded && !(e.key() < range_end)) break;
    int64_t i = e.find_at(rev);
    if (i < 0 || e.versions()[i].tombstone) continue;
    f(c.id(), e, e.versions()[i]);
    ++count;
  }
  return count;
}

template <class F>
inline void MvccStore::scan_range(std::string_view from, std::string_view range_end, revision_t rev, F&& visit) const {
  assert(!range_end.empty());
  bool unbounded = range_end.size() == 1 && range_end[0] == '\0';
  for (auto c = order_.lower_bound(from); c.valid(); c.next()) {
    const KeyEntry& e = keys_[c.id()];
    if (!unbounded && !(e.key() < range_end)) break;
    int64_t i = e.find_at(rev);
    if (i < 0 || e.versions()[i].tombstone) continue;
    if (!visit(view_of(e, e.versions()[i]))) break;
  }
}

}  // namespace ringkv::storage::mvcc
