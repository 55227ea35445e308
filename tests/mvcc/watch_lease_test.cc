// tests/mvcc/watch_lease_test.cc: the watcher-facing API (ready list, bounded polls, resuming from
// history, filters, prev_kv, compaction) and the lessor's time handling (primary/follower expiry,
// renew, checkpoints carried across a leader change, TTL reporting) with time passed in.
#include <gtest/gtest.h>

#include <algorithm>

#include "storage/mvcc/store.h"
#include "tests/mvcc/store_writes.h"

namespace ringkv::storage::mvcc {
namespace {

WatchCreateRequest watch_req(std::string key, std::string range_end = "", revision_t start = 0, bool prev_kv = false) {
  WatchCreateRequest r;
  r.key = std::move(key);
  r.range_end = std::move(range_end);
  r.start_revision = start;
  r.prev_kv = prev_kv;
  return r;
}

std::vector<Event> drain(MvccStore& s, watch_id_t id, size_t per_poll) {
  std::vector<Event> all;
  for (;;) {
    Result<WatchPollResult> r = s.watch_poll(id, per_poll);
    EXPECT_TRUE(r.ok());
    EXPECT_LE(r->events.size(), per_poll);
    all.insert(all.end(), r->events.begin(), r->events.end());
    if (!r->more) return all;
  }
}

TEST(MvccWatch, ReadyListMarksOnlyMatchingWatchers) {
  MvccStore s;
  WatchCreateRequest one = watch_req("a");
  WatchCreateRequest prefix = watch_req("p/", "p0");
  watch_id_t w1 = s.watch_create(one);
  watch_id_t w2 = s.watch_create(prefix);
  EXPECT_TRUE(s.take_ready_watchers().empty());  // nothing to deliver yet
  put(s, "b", "x");
  EXPECT_TRUE(s.take_ready_watchers().empty());
  put(s, "a", "1");
  put(s, "p/1", "2");
  put(s, "a", "3");
  std::vector<watch_id_t> ready = s.take_ready_watchers();
  std::sort(ready.begin(), ready.end());
  EXPECT_EQ(ready, (std::vector<watch_id_t>{w1, w2}));
  EXPECT_TRUE(s.take_ready_watchers().empty());
  std::vector<Event> e1 = drain(s, w1, 10);
  ASSERT_EQ(e1.size(), 2u);
  EXPECT_EQ(e1[0].kv.value, "1");
  EXPECT_EQ(e1[1].kv.value, "3");
  EXPECT_EQ(e1[1].kv.version, 2);
  std::vector<Event> e2 = drain(s, w2, 10);
  ASSERT_EQ(e2.size(), 1u);
  EXPECT_EQ(e2[0].kv.key, "p/1");
  EXPECT_TRUE(drain(s, w1, 10).empty());  // the cursor moved past what was delivered
  EXPECT_EQ(s.watch_cancel(w1), Errc::ok);
  EXPECT_EQ(s.watch_cancel(w1), Errc::watch_not_found);
  put(s, "a", "4");
  EXPECT_TRUE(s.take_ready_watchers().empty());
}

// Progress notifications go only to watchers that have every event up to the current revision.
TEST(MvccWatch, CaughtUpOnlyWhenNothingIsLeftToPoll) {
  MvccStore s;
  put(s, "a", "1");
  watch_id_t now = s.watch_create(watch_req("a"));
  watch_id_t old = s.watch_create(watch_req("a", "", 1));
  EXPECT_TRUE(s.watch_caught_up(now));
  EXPECT_FALSE(s.watch_caught_up(old));  // revision 1 is still to be sent
  put(s, "a", "2");
  EXPECT_FALSE(s.watch_caught_up(now));  // ready: its event is waiting
  s.take_ready_watchers();
  ASSERT_TRUE(s.watch_poll(old, 1).ok());  // one of two events: still behind
  EXPECT_FALSE(s.watch_caught_up(old));
  ASSERT_TRUE(s.watch_poll(old, 10).ok());
  ASSERT_TRUE(s.watch_poll(now, 10).ok());
  EXPECT_TRUE(s.watch_caught_up(old));
  EXPECT_TRUE(s.watch_caught_up(now));
  s.take_ready_watchers();
  put(s, "b", "x");  // another key: the watchers of "a" have nothing to wait for
  EXPECT_TRUE(s.watch_caught_up(now));
  EXPECT_TRUE(s.take_ready_watchers().empty());
  EXPECT_FALSE(s.watch_caught_up(999));
}

TEST(MvccWatch, BehindWatcherIsServedIncrementallyFromHistory) {
  MvccStore s;
  for (int i = 0; i < 1000; ++i) {
    std::string key = "k";  // appended, not "k" + ...: g++ 12 -O3 warns falsely (-Wrestrict) on that
    key += std::to_string(i % 7);
    put(s, key, std::to_string(i));
  }
  WatchCreateRequest all = watch_req(std::string(1, '\0'), std::string(1, '\0'), 2);
  watch_id_t w = s.watch_create(all);
  EXPECT_EQ(s.take_ready_watchers(), std::vector<watch_id_t>{w});
  Result<WatchPollResult> first = s.watch_poll(w, 100);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->events.size(), 100u);
  EXPECT_TRUE(first->more);
  EXPECT_EQ(s.take_ready_watchers(), std::vector<watch_id_t>{w});  // still behind: listed again
  std::vector<Event> rest = drain(s, w, 64);
  ASSERT_EQ(rest.size(), 900u);
  EXPECT_EQ(first->events.front().kv.mod_revision, 2);
  EXPECT_EQ(rest.back().kv.mod_revision, 1001);
  for (size_t i = 1; i < rest.size(); ++i) EXPECT_EQ(rest[i].kv.mod_revision, rest[i - 1].kv.mod_revision + 1);
}

TEST(MvccWatch, FiltersPrevKvAndDeleteEvents) {
  MvccStore s;
  put(s, "a", "1");
  WatchCreateRequest r = watch_req("a", "", 1, true);
  watch_id_t all = s.watch_create(r);
  r.filter_put = true;
  watch_id_t no_put = s.watch_create(r);
  r.filter_put = false;
  r.filter_delete = true;
  watch_id_t no_del = s.watch_create(r);
  put(s, "a", "2");
  del(s, "a");
  std::vector<Event> ev = drain(s, all, 10);
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_FALSE(ev[0].prev_kv.has_value());
  EXPECT_EQ(ev[1].prev_kv->value, "1");
  EXPECT_EQ(ev[2].type, Event::Type::del);
  EXPECT_EQ(ev[2].kv, (KeyValue{"a", 0, 4, 0, "", 0}));
  EXPECT_EQ(ev[2].prev_kv->value, "2");
  std::vector<Event> dels = drain(s, no_put, 10);
  ASSERT_EQ(dels.size(), 1u);
  EXPECT_EQ(dels[0].type, Event::Type::del);
  EXPECT_EQ(drain(s, no_del, 10).size(), 2u);
}

TEST(MvccWatch, CompactedStartGetsCompactRevision) {
  MvccStore s;
  for (int i = 0; i < 10; ++i) put(s, "k", std::to_string(i));
  ASSERT_TRUE(s.compact(6).ok());
  while (s.compaction_pending()) s.compaction_step();
  watch_id_t old = s.watch_create(watch_req("k", "", 5));
  Result<WatchPollResult> r = s.watch_poll(old, 10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->compact_revision, 6);
  EXPECT_TRUE(r->events.empty());
  EXPECT_EQ(s.watch_cancel(old), Errc::watch_not_found);  // cancelled by the store
  watch_id_t at = s.watch_create(watch_req("k", "", 6));
  std::vector<Event> ev = drain(s, at, 100);
  ASSERT_EQ(ev.size(), 6u);  // revisions 6..11, revision 6 kept as the newest at the compaction point
  EXPECT_EQ(ev.front().kv.mod_revision, 6);
  EXPECT_FALSE(ev.front().prev_kv.has_value());
}

TEST(MvccWatch, CompactionCancelsOnlyWatchersThatMissEvents) {
  // etcd compacts only unsynced watchers: a watcher handed every event so far survives a compaction
  // past the revision it was created at, however long nothing matched it.
  MvccStore s;
  put(s, "quiet", "0");                                      // rev 2
  watch_id_t on_key = s.watch_create(watch_req("quiet"));    // from rev 3
  watch_id_t on_prefix = s.watch_create(watch_req("q", "r"));
  watch_id_t held = s.watch_create(watch_req("busy"));
  put(s, "busy", "1");                                       // rev 3: only `held` is ready
  EXPECT_EQ(s.take_ready_watchers(), std::vector<watch_id_t>{held});
  s.watch_hold(held);                                        // its stream was full: not polled
  EXPECT_FALSE(s.watch_caught_up(held));
  for (int i = 0; i < 10; ++i) put(s, "other", std::to_string(i));
  ASSERT_TRUE(s.compact(s.current_revision()).ok());
  while (s.compaction_pending()) s.compaction_step();
  put(s, "quiet", "1");
  put(s, "busy", "2");
  for (watch_id_t quiet : {on_key, on_prefix}) {
    Result<WatchPollResult> r = s.watch_poll(quiet, 10);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->compact_revision, 0);
    ASSERT_EQ(r->events.size(), 1u);
    EXPECT_EQ(r->events[0].kv.value, "1");
  }
  Result<WatchPollResult> r = s.watch_poll(held, 10);  // its event at rev 3 is below the compaction
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->compact_revision, 13);
}

TEST(MvccWatch, HeldWatcherCostsWritesNothingAndResumesFromItsPosition) {
  // A watcher whose stream is full is held: writes no longer list it (it keeps only its cursor);
  // resumed, its next polls catch it up from the history, every event once and in order.
  MvccStore s;
  watch_id_t all = s.watch_create(watch_req("a", std::string(1, '\0')));
  watch_id_t one = s.watch_create(watch_req("k"));
  put(s, "k", "0");  // rev 2
  std::vector<watch_id_t> ready = s.take_ready_watchers();
  std::sort(ready.begin(), ready.end());
  EXPECT_EQ(ready, (std::vector<watch_id_t>{all, one}));
  s.watch_hold(all);
  s.watch_hold(one);
  for (int i = 1; i <= 5; ++i) put(s, "k", std::to_string(i));  // revs 3..7
  EXPECT_TRUE(s.take_ready_watchers().empty());  // held watchers are not listed by writes
  EXPECT_FALSE(s.watch_caught_up(all));
  EXPECT_FALSE(s.watch_caught_up(one));
  s.watch_resume(all);
  s.watch_resume(one);
  s.watch_resume(one);  // twice: still listed once
  ready = s.take_ready_watchers();
  std::sort(ready.begin(), ready.end());
  EXPECT_EQ(ready, (std::vector<watch_id_t>{all, one}));
  for (watch_id_t id : {all, one}) {
    std::vector<Event> events = drain(s, id, 4);
    ASSERT_EQ(events.size(), 6u);
    for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].kv.mod_revision, revision_t(2 + i));
  }
  put(s, "k", "6");  // polled again: writes list them again
  ready = s.take_ready_watchers();
  EXPECT_EQ(ready.size(), 2u);
  s.watch_resume(all);  // not held: nothing
  EXPECT_TRUE(s.take_ready_watchers().empty());
  s.watch_hold(one);
  EXPECT_EQ(s.watch_cancel(one), Errc::ok);  // a held watcher cancels cleanly
  put(s, "k", "7");
  EXPECT_EQ(s.take_ready_watchers(), std::vector<watch_id_t>{all});
}

TEST(MvccWatch, PollStopsAtItsByteBudget) {
  MvccStore s;
  watch_id_t range = s.watch_create(watch_req("a", "z"));
  watch_id_t key = s.watch_create(watch_req("k"));
  const std::string value(99, 'v');  // an event carries 1 + 99 key and value bytes
  for (int i = 0; i < 10; ++i) put(s, "k", value);
  for (watch_id_t id : {range, key}) {
    size_t seen = 0;
    auto count = [&seen](const EventView&) { ++seen; };
    Result<WatchPollResult> r = s.watch_poll_views(id, 100, 250, count);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(seen, 3u);  // 100, 200, then 300 >= 250: stop
    EXPECT_TRUE(r->more);
    seen = 0;
    r = s.watch_poll_views(id, 100, 1, count);  // always at least one event
    EXPECT_EQ(seen, 1u);
    seen = 0;
    r = s.watch_poll_views(id, 100, 100000, count);
    EXPECT_EQ(seen, 6u);
    EXPECT_FALSE(r->more);
  }
}

TEST(MvccWatch, FutureStartWaitsForThatRevision) {
  MvccStore s;
  watch_id_t w = s.watch_create(watch_req("k", "", 4));
  put(s, "k", "a");  // rev 2
  put(s, "k", "b");  // rev 3
  put(s, "k", "c");  // rev 4
  std::vector<Event> ev = drain(s, w, 10);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kv.value, "c");
}

TEST(MvccLease, ExpiryOnlyOnPrimaryAndPromoteUsesCheckpoints) {
  MvccStore s;
  ASSERT_TRUE(s.lease_grant(7, 10, 0).ok());
  put(s, "a", "1", 7);
  EXPECT_TRUE(s.lease_expired(1'000'000, 10).empty());  // a follower never expires leases
  EXPECT_EQ(s.lease_renew(7, 0).error(), Errc::not_primary);
  s.lease_promote(1000, 0);
  EXPECT_EQ(s.lease_time_to_live(7, 1000, false)->ttl_s, 10);
  EXPECT_EQ(s.lease_time_to_live(7, 4500, false)->ttl_s, 6);  // truncated like etcd
  std::vector<LeaseCheckpoint> cps = s.lease_checkpoints_due(4500, 10);
  ASSERT_EQ(cps.size(), 1u);
  EXPECT_EQ(cps[0].id, 7);
  EXPECT_EQ(cps[0].remaining_ttl_s, 7);  // rounded up
  ASSERT_EQ(s.lease_checkpoint(7, cps[0].remaining_ttl_s), Errc::ok);
  EXPECT_TRUE(s.lease_expired(10'999, 10).empty());
  EXPECT_EQ(s.lease_expired(11'000, 10), std::vector<lease_id_t>{7});
  // Leader change: the new leader restarts from the checkpointed 7 s plus the extension, not 10 s.
  s.lease_demote();
  EXPECT_TRUE(s.lease_expired(1'000'000, 10).empty());
  s.lease_promote(20'000, 1000);
  EXPECT_TRUE(s.lease_expired(27'999, 10).empty());
  EXPECT_EQ(s.lease_expired(28'000, 10), std::vector<lease_id_t>{7});
  // Renew clears the checkpoint and asks the server to replicate that.
  Result<LeaseRenewResponse> renewed = s.lease_renew(7, 21'000);
  ASSERT_TRUE(renewed.ok());
  EXPECT_EQ(renewed->ttl_s, 10);
  EXPECT_TRUE(renewed->needs_checkpoint_clear);
  EXPECT_TRUE(s.lease_expired(30'999, 10).empty());
  EXPECT_EQ(s.lease_expired(31'000, 10), std::vector<lease_id_t>{7});
  EXPECT_EQ(s.lease_renew(7, 31'000).error(), Errc::lease_not_found);  // expired: revoke pending
  revision_t before = s.current_revision();
  ASSERT_TRUE(s.lease_revoke(7).ok());
  EXPECT_EQ(s.current_revision(), before + 1);
  RangeRequest r;
  r.key = "a";
  EXPECT_EQ(s.range(r)->count, 0);
}

TEST(MvccLease, RevokeWithoutKeysDoesNotBumpRevisionAndSnapshotKeepsLeases) {
  MvccStore s;
  ASSERT_TRUE(s.lease_grant(1, 5, 0).ok());
  ASSERT_TRUE(s.lease_grant(2, 50, 0).ok());
  put(s, "x", "1", 2);
  ASSERT_EQ(s.lease_checkpoint(2, 20), Errc::ok);
  revision_t rev = s.current_revision();
  ASSERT_TRUE(s.lease_revoke(1).ok());
  EXPECT_EQ(s.current_revision(), rev);
  MvccStore restored;
  ASSERT_EQ(restored.restore(s.snapshot()), Errc::ok);
  EXPECT_EQ(restored.lease_list(), std::vector<lease_id_t>{2});
  EXPECT_EQ(restored.lease_time_to_live(2, 0, true)->keys, std::vector<std::string>{"x"});
  restored.lease_promote(0, 0);
  EXPECT_EQ(restored.lease_expired(19'999, 10).size(), 0u);
  EXPECT_EQ(restored.lease_expired(20'000, 10), std::vector<lease_id_t>{2});  // checkpoint survived
  ASSERT_TRUE(restored.lease_revoke(2).ok());
  RangeRequest r;
  r.key = "x";
  EXPECT_EQ(restored.range(r)->count, 0);
}

TEST(MvccQuota, SizeTracksStoredBytesAndCompactionReleasesThem) {
  MvccStore s;
  EXPECT_EQ(s.size_bytes(), 0);
  put(s, "key", std::string(1000, 'v'));
  int64_t one = s.size_bytes();
  EXPECT_EQ(one, 3 + 1000 + stored_version_overhead_bytes);
  put(s, "key", std::string(1000, 'w'));
  EXPECT_EQ(s.size_bytes(), 2 * one);
  PutRequest big;
  big.key = "k2";
  big.value = std::string(5000, 'x');
  EXPECT_EQ(MvccStore::quota_cost(big), 256 + 2 + 5000);
  EXPECT_TRUE(s.quota_available(MvccStore::quota_cost(big), 10'000));
  EXPECT_FALSE(s.quota_available(MvccStore::quota_cost(big), 7'000));
  ASSERT_TRUE(s.compact(s.current_revision()).ok());
  while (s.compaction_pending()) s.compaction_step();
  EXPECT_EQ(s.size_bytes(), one);
}

TEST(MvccErrors, MessagesAndCodesMatchEtcd) {
  EXPECT_EQ(error_message(Errc::compacted), "etcdserver: mvcc: required revision has been compacted");
  EXPECT_EQ(error_grpc_code(Errc::compacted), GrpcCode::out_of_range);
  EXPECT_EQ(error_grpc_code(Errc::future_revision), GrpcCode::out_of_range);
  EXPECT_EQ(error_grpc_code(Errc::lease_not_found), GrpcCode::not_found);
  EXPECT_EQ(error_grpc_code(Errc::lease_exists), GrpcCode::failed_precondition);
  EXPECT_EQ(error_grpc_code(Errc::duplicate_key), GrpcCode::invalid_argument);
  EXPECT_EQ(error_grpc_code(Errc::no_space), GrpcCode::resource_exhausted);
}

}  // namespace
}  // namespace ringkv::storage::mvcc
