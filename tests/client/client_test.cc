// tests/client/client_test.cc - the client library's cases against the cluster client_suite.py started
// (ringkv or real etcd 3.4: the same cases must pass on both). Endpoints and member PIDs come from
// RINGKV_CLIENT_ENDPOINTS / RINGKV_CLIENT_PIDS; the *Kill* cases SIGKILL one member by its PID.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "client/election.h"
#include "client/key_lock.h"
#include "client/kv.h"
#include "client/lease.h"
#include "client/mutex.h"
#include "client/stm.h"
#include "client/watch.h"
#include "runtime/gate.h"
#include "runtime/reactor.h"
#include "runtime/timer.h"

namespace ringkv::client {
namespace {

using namespace std::chrono_literals;

// ASSERT_* returns from the function, which a coroutine cannot: this records the failure and co_returns.
// `condition` is evaluated once (it may co_await).
#define CO_ASSERT(condition)       \
  do {                             \
    const bool holds = (condition); \
    EXPECT_TRUE(holds) << #condition; \
    if (!holds) co_return;         \
  } while (false)

std::vector<std::string> split(const char* text) {
  std::vector<std::string> out;
  std::stringstream in(text == nullptr ? "" : text);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

std::vector<endpoint> cluster_endpoints() {
  std::vector<endpoint> out;
  for (const auto& text : split(std::getenv("RINGKV_CLIENT_ENDPOINTS"))) {
    const auto colon = text.rfind(':');
    out.push_back({text.substr(0, colon), static_cast<uint16_t>(std::stoi(text.substr(colon + 1)))});
  }
  return out;
}

std::vector<pid_t> member_pids() {
  std::vector<pid_t> out;
  for (const auto& text : split(std::getenv("RINGKV_CLIENT_PIDS"))) out.push_back(std::stoi(text));
  return out;
}

client_config config_for(std::vector<endpoint> endpoints) {
  client_config config;
  config.endpoints = std::move(endpoints);
  config.dial_timeout = 1s;
  config.call_timeout = 5s;
  return config;
}

// Runs `body` on a one-shard runtime.
void run(std::function<runtime::task<void>()> body) {
  ASSERT_FALSE(cluster_endpoints().empty()) << "RINGKV_CLIENT_ENDPOINTS is not set (run through client_suite.py)";
  runtime::reactor_config config;
  config.handle_signals = false;
  EXPECT_EQ(runtime::run(config, [&]() -> runtime::task<int> {
              co_await body();
              co_return 0;
            }),
            0);
}

std::string unique_prefix(const char* test) { return std::string("client-test/") + test + "/" + std::to_string(getpid()) + "/"; }

// The index of the member that leads (Status.leader == its own member id), or -1.
runtime::task<int> leader_index(const std::vector<endpoint>& endpoints) {
  for (size_t i = 0; i < endpoints.size(); ++i) {
    client one(config_for({endpoints[i]}));
    etcdserverpb::StatusResponse reply;
    const status s = co_await one.unary(rpc_method::status, etcdserverpb::StatusRequest{}, &reply, retry_policy::idempotent);
    co_await one.close();
    if (s.ok() && reply.leader() == reply.header().member_id()) co_return static_cast<int>(i);
  }
  co_return -1;
}

TEST(ClientKv, RangeOptionsPutDeleteTxnCompact) {
  run([]() -> runtime::task<void> {
    client c(config_for(cluster_endpoints()));
    kv store(c);
    const std::string p = unique_prefix("kv");
    auto first = co_await store.put(p + "a", "1");
    EXPECT_TRUE(first.ok()) << first.status.text();
    const int64_t first_revision = first.value.header().revision();
    put_options with_prev;
    with_prev.prev_kv = true;
    auto second = co_await store.put(p + "a", "2", with_prev);
    EXPECT_TRUE(second.ok());
    EXPECT_EQ(second.value.prev_kv().value(), "1");
    co_await store.put(p + "b", "3");
    co_await store.put(p + "c", "4");

    range_options all;
    all.range_end = prefix_end(p);
    all.sort_order = etcdserverpb::RangeRequest::DESCEND;
    auto listed = co_await store.range(p, all);
    EXPECT_TRUE(listed.ok());
    EXPECT_EQ(listed.value.kvs_size(), 3);
    if (listed.value.kvs_size() == 3) {
      EXPECT_EQ(listed.value.kvs(0).key(), p + "c");
    }
    all.limit = 1;
    auto limited = co_await store.range(p, all);
    EXPECT_EQ(limited.value.kvs_size(), 1);
    EXPECT_TRUE(limited.value.more());
    EXPECT_EQ(limited.value.count(), 3);
    range_options counting;
    counting.range_end = prefix_end(p);
    counting.count_only = true;
    auto counted = co_await store.range(p, counting);
    EXPECT_EQ(counted.value.count(), 3);
    EXPECT_EQ(counted.value.kvs_size(), 0);
    range_options old;
    old.revision = first_revision;
    auto at_first = co_await store.range(p + "a", old);
    EXPECT_EQ(at_first.value.kvs(0).value(), "1");
    range_options keys;
    keys.range_end = prefix_end(p);
    keys.keys_only = true;
    keys.min_mod_revision = second.value.header().revision() + 1;
    auto newer = co_await store.range(p, keys);
    EXPECT_EQ(newer.value.kvs_size(), 2);  // b and c
    if (newer.value.kvs_size() > 0) {
      EXPECT_EQ(newer.value.kvs(0).value(), "");
    }

    txn swap;
    swap.when(compare_value(p + "a", cmp_op::equal, "2")).then(op_put(p + "a", "3")).otherwise(op_get(p + "a"));
    auto swapped = co_await store.commit(swap);
    EXPECT_TRUE(swapped.ok());
    EXPECT_TRUE(swapped.value.succeeded());
    auto again = co_await store.commit(swap);
    EXPECT_FALSE(again.value.succeeded());
    EXPECT_EQ(again.value.responses(0).response_range().kvs(0).value(), "3");

    delete_options everything;
    everything.range_end = prefix_end(p);
    everything.prev_kv = true;
    auto deleted = co_await store.erase(p, everything);
    EXPECT_EQ(deleted.value.deleted(), 3);
    EXPECT_EQ(deleted.value.prev_kvs_size(), 3);

    auto compacted = co_await store.compact(first_revision + 1);
    EXPECT_TRUE(compacted.ok()) << compacted.status.text();
    auto gone = co_await store.range(p + "a", old);
    EXPECT_EQ(gone.status.code, grpc_code::out_of_range);
    EXPECT_EQ(gone.status.message, "etcdserver: mvcc: required revision has been compacted");
    co_await c.close();
  });
}

TEST(ClientKv, ErrorsCarryEtcdCodeAndMessage) {
  run([]() -> runtime::task<void> {
    client c(config_for(cluster_endpoints()));
    auto empty_key = co_await kv(c).put("", "v");
    EXPECT_EQ(empty_key.status.code, grpc_code::invalid_argument);
    EXPECT_EQ(empty_key.status.message, "etcdserver: key is not provided");
    EXPECT_FALSE(empty_key.status.ambiguous);
    co_await c.close();
  });
}

TEST(ClientConnection, FailsOverPastDeadEndpoints) {
  run([]() -> runtime::task<void> {
    auto endpoints = cluster_endpoints();
    endpoints.insert(endpoints.begin(), endpoint{"127.0.0.1", 1});  // nothing listens on port 1
    client c(config_for(endpoints));
    auto read = co_await kv(c).range("client-test/nothing");
    EXPECT_TRUE(read.ok()) << read.status.text();
    EXPECT_NE(c.current_endpoint().port, 1);
    co_await c.close();
  });
}

// Endpoints listed followers first: with prefer_leader the client's connection moves to the leader.
TEST(ClientConnection, PrefersTheLeader) {
  run([]() -> runtime::task<void> {
    std::vector<endpoint> endpoints = cluster_endpoints();
    const int leader = co_await leader_index(endpoints);
    CO_ASSERT(leader >= 0);
    std::rotate(endpoints.begin(), endpoints.begin() + (leader + 1) % endpoints.size(), endpoints.end());
    const std::string leader_text = endpoints.back().text();  // the leader is now listed last
    for (const bool prefer : {false, true}) {
      client_config config = config_for(endpoints);
      config.prefer_leader = prefer;
      client c(config);
      EXPECT_TRUE((co_await c.connect()).ok());
      EXPECT_EQ(c.current_endpoint().text() == leader_text, prefer) << c.current_endpoint().text();
      auto put = co_await kv(c).put(unique_prefix("leader") + "k", "v");
      EXPECT_TRUE(put.ok()) << put.status.text();
      co_await c.close();
    }
  });
}

TEST(ClientConnection, UnsentWriteIsNotAmbiguousAndCancelEndsCalls) {
  run([]() -> runtime::task<void> {
    client dead(config_for({endpoint{"127.0.0.1", 1}}));
    auto put = co_await kv(dead).put("client-test/x", "y");
    EXPECT_EQ(put.status.code, grpc_code::unavailable);
    EXPECT_FALSE(put.status.ambiguous);
    co_await dead.close();

    client c(config_for(cluster_endpoints()));
    runtime::cancel_source cancel;
    cancel.cancel();
    call_options cancelled;
    cancelled.cancel = cancel.token();
    auto read = co_await kv(c).range("client-test/x", no_range_options, cancelled);
    EXPECT_EQ(read.status.code, grpc_code::cancelled);
    co_await c.close();
  });
}

// A frozen member (SIGSTOP) takes the request and never answers: a write is reported ambiguous, a read
// is not (it could not have changed anything). The member is resumed (SIGCONT) before the checks.
TEST(ClientConnection, WriteWithoutAnswerIsAmbiguous) {
  run([]() -> runtime::task<void> {
    const auto endpoints = cluster_endpoints();
    const auto pids = member_pids();
    CO_ASSERT(!pids.empty() && pids[0] > 0);
    client c(config_for({endpoints[0]}));
    CO_ASSERT((co_await c.connect()).ok());
    kill(pids[0], SIGSTOP);
    call_options brief;
    brief.timeout = 300ms;
    auto put = co_await kv(c).put("client-test/ambiguous", "v", no_put_options, brief);
    auto read = co_await kv(c).range("client-test/ambiguous", no_range_options, brief);
    kill(pids[0], SIGCONT);
    EXPECT_EQ(put.status.code, grpc_code::deadline_exceeded);
    EXPECT_TRUE(put.status.ambiguous);
    EXPECT_EQ(read.status.code, grpc_code::deadline_exceeded);
    EXPECT_FALSE(read.status.ambiguous);
    co_await c.close();
  });
}

TEST(ClientWatch, PrefixPrevKvFiltersAndCompactedStart) {
  run([]() -> runtime::task<void> {
    client c(config_for(cluster_endpoints()));
    kv store(c);
    watch_hub hub(c);
    const std::string p = unique_prefix("watch");
    auto start = co_await store.put(p + "seed", "0");
    watch_options prefix;
    prefix.range_end = prefix_end(p);
    prefix.start_revision = start.value.header().revision();
    prefix.prev_kv = true;
    auto all = hub.watch(p, prefix);
    watch_options deletes_only = prefix;
    deletes_only.no_put = true;
    auto deletes = hub.watch(p, deletes_only);
    co_await store.put(p + "seed", "1");
    co_await store.erase(p + "seed");
    std::vector<std::string> seen;
    while (seen.size() < 3) {
      auto batch = co_await all->next(5s);
      if (!batch.ok()) break;
      for (const auto& e : batch.value.events) {
        seen.push_back((e.type() == mvccpb::Event::PUT ? "put " : "delete ") + e.kv().value() + " prev " + e.prev_kv().value());
      }
    }
    EXPECT_EQ(seen, (std::vector<std::string>{"put 0 prev ", "put 1 prev 0", "delete  prev 1"}));
    auto only_delete = co_await deletes->next(5s);
    CO_ASSERT(only_delete.ok());
    CO_ASSERT(only_delete.value.events.size() == 1u);
    EXPECT_EQ(only_delete.value.events[0].type(), mvccpb::Event::DELETE);

    auto last = co_await store.put(p + "z", "z");
    co_await store.compact(last.value.header().revision());
    watch_options too_old;
    too_old.start_revision = start.value.header().revision();
    auto stale = hub.watch(p + "z", too_old);
    auto ended = co_await stale->next(5s);
    EXPECT_EQ(ended.status.code, grpc_code::out_of_range);
    EXPECT_EQ(stale->compact_revision(), last.value.header().revision());
    co_await hub.close();
    co_await c.close();
  });
}

// A watcher (events_limit 2) left undrained while `puts` values of `value_bytes` are written, on a hub
// whose streams hold `inbox_bytes_limit`; then drained: every put's revision must arrive once, in order.
// Returns how many events the watcher held before it was drained.
runtime::task<size_t> slow_watcher_case(const char* name, size_t inbox_bytes_limit, int puts, size_t value_bytes) {
  client c(config_for(cluster_endpoints()));
  kv store(c);
  watch_hub hub(c, inbox_bytes_limit);
  const std::string p = unique_prefix(name);
  auto start = co_await store.put(p + "start", "");
  watch_options small;
  small.range_end = prefix_end(p);
  small.start_revision = start.value.header().revision() + 1;
  small.events_limit = 2;
  auto w = hub.watch(p, small);
  const std::string value(value_bytes, 'v');
  std::vector<int64_t> written;
  for (int i = 0; i < puts; ++i) written.push_back((co_await store.put(p + std::to_string(i), value)).value.header().revision());
  co_await runtime::sleep_for(300ms);
  const size_t held = w->buffered_events();
  std::vector<int64_t> seen;
  while (seen.size() < written.size()) {
    auto batch = co_await w->next(5s);
    if (!batch.ok()) break;
    for (const auto& e : batch.value.events) seen.push_back(e.kv().mod_revision());
  }
  EXPECT_EQ(seen, written);
  co_await hub.close();
  co_await c.close();
  co_return held;
}

// A full watcher pauses the hub's reader (the rest waits in the stream) and loses nothing.
TEST(ClientWatch, FullWatcherPausesTheStreamAndLosesNothing) {
  run([]() -> runtime::task<void> {
    const size_t held = co_await slow_watcher_case("bounded", grpc_connection::stream_inbox_bytes_limit, 40, 1);
    EXPECT_LT(held, 10u);  // of 40 sent
  });
}

// A stream whose inbox overflows (a tiny limit) is dropped and the watch resumes on a new stream from its
// next revision: every event still arrives once, in order.
TEST(ClientWatch, OverflowedStreamResumesWithoutLossOrRepeat) {
  run([]() -> runtime::task<void> { co_await slow_watcher_case("overflow", 2048, 100, 100); });
}

TEST(ClientWatch, ManualProgressRequest) {
  run([]() -> runtime::task<void> {
    client c(config_for(cluster_endpoints()));
    kv store(c);
    watch_hub hub(c);
    const std::string p = unique_prefix("progress");
    auto start = co_await store.put(p + "watched", "0");
    watch_options from;
    from.start_revision = start.value.header().revision() + 1;
    auto w = hub.watch(p + "watched", from);
    auto elsewhere = co_await store.put(p + "other", "1");  // the revision moves, nothing for w
    // Until the watch is bound (created) a request has nothing to answer: ask until a batch comes.
    result<watch_batch> progress{status{grpc_code::deadline_exceeded, "no progress"}, {}};
    for (int i = 0; i < 20 && !progress.ok(); ++i) {
      hub.request_progress();
      progress = co_await w->next(250ms);
    }
    EXPECT_TRUE(progress.ok()) << progress.status.text();
    EXPECT_TRUE(progress.value.events.empty());
    EXPECT_GE(progress.value.revision, elsewhere.value.header().revision());
    co_await hub.close();
    co_await c.close();
  });
}

TEST(ClientLease, GrantKeepAliveTimeToLiveRevokeReportsLoss) {
  run([]() -> runtime::task<void> {
    client c(config_for(cluster_endpoints()));
    lease_keeper keeper(c);
    auto granted = co_await lease_grant(c, 2);
    CO_ASSERT(granted.ok());
    const int64_t id = granted.value.id();
    int64_t lost = 0;
    EXPECT_TRUE(keeper.keep(id, granted.value.ttl(), [&](int64_t which) { lost = which; }));
    co_await kv(c).put("client-test/leased", "v", with_lease(id));
    co_await runtime::sleep_for(3500ms);  // longer than the TTL: only the keeper keeps it
    auto ttl = co_await lease_time_to_live(c, id, true);
    EXPECT_TRUE(ttl.ok());
    EXPECT_GT(ttl.value.ttl(), 0);
    EXPECT_EQ(ttl.value.keys_size(), 1);
    EXPECT_EQ(lost, 0);
    auto revoked = co_await lease_revoke(c, id);
    EXPECT_TRUE(revoked.ok());
    for (int i = 0; i < 40 && lost == 0; ++i) co_await runtime::sleep_for(100ms);
    EXPECT_EQ(lost, id);
    EXPECT_FALSE(keeper.kept(id));
    co_await keeper.close();
    co_await c.close();
  });
}

// Two sessions (contenders a and b) on one client, for the recipe cases; close() in the end.
struct contenders {
  contenders() : c(config_for(cluster_endpoints())), keeper(c) {}
  runtime::task<bool> open() {
    a = (co_await session::open(c, keeper, 10)).value;
    b = (co_await session::open(c, keeper, 10)).value;
    co_return a && b;
  }
  runtime::task<void> close() {
    if (a) co_await a->close();
    if (b) co_await b->close();
    co_await keeper.close();
    co_await c.close();
  }
  client c;
  lease_keeper keeper;
  std::unique_ptr<session> a, b;
};

TEST(ClientRecipes, MutexExcludesAndHandsOver) {
  run([]() -> runtime::task<void> {
    contenders two;
    if (!co_await two.open()) {
      ADD_FAILURE() << "no sessions";
      co_await two.close();
      co_return;
    }
    const std::string name = unique_prefix("mutex") + "lock";
    mutex ma(*two.a, name), mb(*two.b, name);
    EXPECT_TRUE((co_await ma.lock()).ok());
    EXPECT_EQ((co_await mb.try_lock()).code, grpc_code::failed_precondition);
    call_options short_wait;
    short_wait.timeout = 500ms;
    EXPECT_EQ((co_await mb.lock(short_wait)).code, grpc_code::deadline_exceeded);
    bool b_holds = false;
    runtime::gate waiting;
    EXPECT_TRUE(waiting.spawn([](mutex& m, bool& holds) -> runtime::task<void> {
      holds = (co_await m.lock()).ok();
    }(mb, b_holds)));
    co_await runtime::sleep_for(300ms);
    EXPECT_FALSE(b_holds);
    EXPECT_TRUE((co_await ma.unlock()).ok());
    co_await waiting.close();
    EXPECT_TRUE(b_holds);
    EXPECT_EQ(mb.key(), session_key(name + "/", two.b->lease()));
    co_await mb.unlock();
    co_await two.close();
  });
}

TEST(ClientRecipes, ElectionCampaignProclaimObserveResign) {
  run([]() -> runtime::task<void> {
    contenders two;
    if (!co_await two.open()) {
      ADD_FAILURE() << "no sessions";
      co_await two.close();
      co_return;
    }
    const std::string name = unique_prefix("election");
    election ea(*two.a, name), eb(*two.b, name);
    EXPECT_EQ((co_await ea.leader()).status.code, grpc_code::not_found);
    EXPECT_TRUE((co_await ea.campaign("a")).ok());
    auto leader = co_await eb.leader();
    EXPECT_EQ(leader.value.value(), "a");
    EXPECT_TRUE((co_await ea.proclaim("a2")).ok());
    auto observed = co_await eb.next_leader(leader.value, 5s);
    EXPECT_EQ(observed.value.value(), "a2");
    EXPECT_EQ((co_await eb.proclaim("b")).code, grpc_code::failed_precondition);
    bool b_leads = false;
    runtime::gate campaigning;
    EXPECT_TRUE(campaigning.spawn([](election& e, bool& leads) -> runtime::task<void> {
      leads = (co_await e.campaign("b")).ok();
    }(eb, b_leads)));
    co_await runtime::sleep_for(300ms);
    EXPECT_FALSE(b_leads);
    EXPECT_TRUE((co_await ea.resign()).ok());
    co_await campaigning.close();
    EXPECT_TRUE(b_leads);
    EXPECT_EQ((co_await ea.leader()).value.value(), "b");
    co_await eb.resign();
    co_await two.close();
  });
}

// The watch's member is killed while puts go on through the others: every put's revision arrives once.
// The lease of a session holding a lock and leading an election is revoked by another client: both
// learn it (wait_lost, lost(), the session's on_lost callback) from the keeper's next refresh.
TEST(ClientRecipes, SessionLossReachesMutexAndElection) {
  run([]() -> runtime::task<void> {
    client c(config_for(cluster_endpoints()));
    lease_keeper keeper(c);
    auto opened = co_await session::open(c, keeper, 3);
    CO_ASSERT(opened.ok());
    session& s = *opened.value;
    const std::string p = unique_prefix("loss");
    mutex m(s, p + "lock");
    election e(s, p + "election");
    EXPECT_TRUE((co_await m.lock()).ok());
    EXPECT_TRUE((co_await e.campaign("me")).ok());
    int callbacks = 0;
    EXPECT_TRUE(s.on_lost([&callbacks] { ++callbacks; }));
    EXPECT_FALSE(co_await m.wait_lost(1500ms));  // kept alive past the first refresh: not lost
    EXPECT_FALSE(m.lost());
    client outsider(config_for(cluster_endpoints()));
    EXPECT_TRUE((co_await lease_revoke(outsider, s.lease())).ok());
    EXPECT_TRUE(co_await m.wait_lost(5s));
    EXPECT_TRUE(co_await e.wait_lost(1s));
    EXPECT_TRUE(m.lost());
    EXPECT_TRUE(e.lost());
    EXPECT_EQ(callbacks, 1);
    auto gone = co_await kv(outsider).range(m.key());
    EXPECT_EQ(gone.value.kvs_size(), 0);
    co_await outsider.close();
    co_await keeper.close();
    co_await c.close();
  });
}

TEST(ClientFailover, WatchSurvivesMemberKill) {
  run([]() -> runtime::task<void> {
    const auto endpoints = cluster_endpoints();
    const auto pids = member_pids();
    CO_ASSERT(endpoints.size() >= 3 && pids.size() == endpoints.size());  // never kill(0, ...)
    const int leader = co_await leader_index(endpoints);
    const int victim = leader == 0 ? 1 : 0;  // a follower: the writes keep a quorum and a leader
    CO_ASSERT(pids[victim] > 0);
    std::vector<endpoint> watch_order{endpoints[victim]};
    std::vector<endpoint> write_order;
    for (size_t i = 0; i < endpoints.size(); ++i) {
      if (static_cast<int>(i) != victim) {
        watch_order.push_back(endpoints[i]);
        write_order.push_back(endpoints[i]);
      }
    }
    client watching(config_for(watch_order)), writing(config_for(write_order));
    watch_hub hub(watching);
    const std::string p = unique_prefix("failover-watch");
    auto start = co_await kv(writing).put(p + "start", "");
    watch_options prefix;
    prefix.range_end = prefix_end(p);
    prefix.start_revision = start.value.header().revision() + 1;
    auto w = hub.watch(p, prefix);
    std::vector<int64_t> written;
    for (int i = 0; i < 60; ++i) {
      if (i == 20) kill(pids[victim], SIGKILL);
      auto put = co_await kv(writing).put(p + "k" + std::to_string(i % 5), std::to_string(i));
      if (put.ok()) written.push_back(put.value.header().revision());
      if (i == 20) co_await runtime::sleep_for(200ms);
    }
    EXPECT_GE(written.size(), 55u);
    std::vector<int64_t> seen;
    while (seen.size() < written.size()) {
      auto batch = co_await w->next(15s);
      if (!batch.ok()) {
        ADD_FAILURE() << "watch ended: " << batch.status.text();
        break;
      }
      for (const auto& e : batch.value.events) seen.push_back(e.kv().mod_revision());
    }
    EXPECT_EQ(seen, written);  // in order, none lost, none repeated (unacknowledged puts would show here too)
    EXPECT_NE(watching.current_endpoint().port, endpoints[victim].port);
    co_await hub.close();
    co_await watching.close();
    co_await writing.close();
  });
}

// A lock taken before the leader is killed stays held (its session lease survives the failover).
TEST(ClientFailover, LockHeldAcrossLeaderKill) {
  run([]() -> runtime::task<void> {
    const auto endpoints = cluster_endpoints();
    const auto pids = member_pids();
    CO_ASSERT(endpoints.size() >= 3 && pids.size() == endpoints.size());  // never kill(0, ...)
    const int leader = co_await leader_index(endpoints);
    CO_ASSERT(leader >= 0 && pids[leader] > 0);
    client c(config_for(endpoints)), other(config_for(endpoints));
    lease_keeper keeper(c), other_keeper(other);
    auto a = co_await session::open(c, keeper, 5);
    auto b = co_await session::open(other, other_keeper, 5);
    CO_ASSERT(a.ok() && b.ok());
    const std::string name = unique_prefix("failover-lock") + "lock";
    mutex ma(*a.value, name), mb(*b.value, name);
    EXPECT_TRUE((co_await ma.lock()).ok());
    kill(pids[leader], SIGKILL);
    co_await runtime::sleep_for(7s);  // longer than the session TTL: only keepalives through failover keep it
    EXPECT_FALSE(a.value->lost());
    call_options patient;
    patient.timeout = 10s;
    EXPECT_EQ((co_await mb.try_lock(patient)).code, grpc_code::failed_precondition);
    EXPECT_TRUE((co_await ma.unlock(patient)).ok());
    EXPECT_TRUE((co_await mb.lock(patient)).ok());
    co_await mb.unlock();
    co_await a.value->close();
    co_await b.value->close();
    co_await keeper.close();
    co_await other_keeper.close();
    co_await c.close();
    co_await other.close();
  });
}

// Interop with python-etcd3's Lock: client_suite.py holds / waits on a python lock of this name.
const char* interop_lock_name() { return std::getenv("RINGKV_CLIENT_INTEROP_LOCK"); }

// Workers move amounts between accounts concurrently through run_stm at `level`; a lost update (a
// conflict not detected) would change the total, a conflict not retried would fail a transfer.
runtime::task<void> transfers_keep_total(isolation level, const char* name) {
  constexpr int accounts = 4, workers = 4, transfers_each = 8, initial = 100;
  client c(config_for(cluster_endpoints()));
  kv store(c);
  const std::string p = unique_prefix(name);
  for (int i = 0; i < accounts; ++i) co_await store.put(p + std::to_string(i), std::to_string(initial));
  int committed = 0, runs = 0;
  status failure;
  runtime::gate running;
  for (int w = 0; w < workers; ++w) {
    const bool started = running.spawn([](client& c, std::string p, int w, isolation level, int& committed, int& runs,
                                          status& failure) -> runtime::task<void> {
      for (int n = 0; n < transfers_each; ++n) {
        const int from_index = (w + n) % accounts;
        const std::string from = p + std::to_string(from_index);
        const std::string to = p + std::to_string((from_index + 1 + n % (accounts - 1)) % accounts);
        const int amount = 1 + (w + n) % 5;
        stm_options options;
        options.level = level;
        auto done = co_await run_stm(c, [&](stm& s) -> runtime::task<status> {
          ++runs;
          auto a = co_await s.get(from);
          if (!a.ok()) co_return a.status;
          auto b = co_await s.get(to);
          if (!b.ok()) co_return b.status;
          s.put(from, std::to_string(std::stoi(a.value) - amount));
          s.put(to, std::to_string(std::stoi(b.value) + amount));
          co_return status{};
        }, options);
        if (done.ok()) {
          ++committed;
        } else {
          failure = done.status;
        }
      }
    }(c, p, w, level, committed, runs, failure));
    EXPECT_TRUE(started);
  }
  co_await running.close();
  EXPECT_TRUE(failure.ok()) << failure.text();
  EXPECT_EQ(committed, workers * transfers_each);
  EXPECT_GE(runs, committed);
  range_options all;
  all.range_end = prefix_end(p);
  auto balances = co_await store.range(p, all);
  EXPECT_EQ(balances.value.kvs_size(), accounts);
  int total = 0;
  for (const auto& account : balances.value.kvs()) total += std::stoi(account.value());
  EXPECT_EQ(total, accounts * initial);
  co_await c.close();
}

TEST(ClientStm, ConcurrentTransfersKeepTheTotal) {
  run([]() -> runtime::task<void> { co_await transfers_keep_total(isolation::serializable_snapshot, "stm-ssi"); });
  run([]() -> runtime::task<void> { co_await transfers_keep_total(isolation::repeatable_read, "stm-rr"); });
}

// A write by another client between a run's reads and its commit makes the run start again, seeing it:
// a key read (every level but read_committed) or, under serializable_snapshot only, a key written.
TEST(ClientStm, OutsideWriteForcesAnotherRun) {
  run([]() -> runtime::task<void> {
    client c(config_for(cluster_endpoints()));
    kv store(c);
    const std::string p = unique_prefix("stm-conflict");
    co_await store.put(p + "read", "1");
    for (const isolation level : {isolation::serializable_snapshot, isolation::serializable, isolation::repeatable_read}) {
      for (const bool touch_written : {false, true}) {
        int runs = 0;
        stm_options options;
        options.level = level;
        auto done = co_await run_stm(c, [&](stm& s) -> runtime::task<status> {
          auto seen = co_await s.get(p + "read");
          if (!seen.ok()) co_return seen.status;
          if (++runs == 1) {  // another writer, after this run read
            if (touch_written) {
              co_await store.put(p + "written", "outside");
            } else {
              co_await store.put(p + "read", std::to_string(std::stoi(seen.value) + 1));
            }
          }
          s.put(p + "written", "saw " + seen.value);
          co_return status{};
        }, options);
        EXPECT_TRUE(done.ok()) << done.status.text();
        const bool conflicts = !touch_written || level == isolation::serializable_snapshot;
        EXPECT_EQ(runs, conflicts ? 2 : 1) << "level " << static_cast<int>(level) << " touch_written " << touch_written;
      }
    }
    auto aborted = co_await run_stm(c, [](stm&) -> runtime::task<status> {
      co_return status{grpc_code::failed_precondition, "no funds"};
    });
    EXPECT_EQ(aborted.status.code, grpc_code::failed_precondition);
    co_await c.close();
  });
}

// The TLS + auth cases (secure_suite.py starts one member with client certificates required, auth on
// and a 1 s token TTL, and passes the files and the user `app`, who may use the prefix "app/").
std::string env_text(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

client_config secure_config(const std::string& ca_file, const std::string& password) {
  client_config config = config_for(cluster_endpoints());
  std::string error;
  config.tls = make_tls_context(ca_file, env_text("RINGKV_CLIENT_CERT"), env_text("RINGKV_CLIENT_KEY"), &error);
  EXPECT_TRUE(config.tls) << error;
  config.user = env_text("RINGKV_CLIENT_USER");
  config.password = password;
  return config;
}

TEST(ClientSecure, TlsAuthTokenRenewedAfterExpiry) {
  run([]() -> runtime::task<void> {
    client c(secure_config(env_text("RINGKV_CLIENT_CACERT"), env_text("RINGKV_CLIENT_PASSWORD")));
    kv store(c);
    const std::string p = "app/" + std::to_string(getpid()) + "/";
    auto first = co_await store.put(p + "a", "1");
    CO_ASSERT(first.ok());
    auto denied = co_await store.put("elsewhere/" + p, "1");  // outside the role's prefix
    EXPECT_EQ(denied.status.code, grpc_code::permission_denied) << denied.status.text();
    EXPECT_EQ(denied.status.message, "etcdserver: permission denied");
    EXPECT_FALSE(denied.status.ambiguous);
    watch_hub hub(c);  // a watch stream carries the token too
    watch_options from_first;
    from_first.start_revision = first.value.header().revision() + 1;
    auto w = hub.watch(p + "b", from_first);
    // Past the token's TTL the member refuses the old token: the put authenticates again and is resent.
    co_await runtime::sleep_for(std::chrono::seconds(std::stoi(env_text("RINGKV_CLIENT_TOKEN_TTL_S")) + 2));
    watch_hub late_hub(c);  // a stream opened after the expiry takes a fresh token
    auto late = late_hub.watch(p + "b");
    co_await runtime::sleep_for(200ms);  // its create is answered before the put
    auto second = co_await store.put(p + "b", "2");
    EXPECT_TRUE(second.ok()) << second.status.text();
    auto late_seen = co_await late->next(5s);
    EXPECT_TRUE(late_seen.ok()) << late_seen.status.text();
    EXPECT_EQ(late_seen.value.events.size(), 1u);
    co_await late_hub.close();
    range_options prefix;
    prefix.range_end = prefix_end(p);
    auto listed = co_await store.range(p, prefix);
    EXPECT_TRUE(listed.ok()) << listed.status.text();
    EXPECT_EQ(listed.value.kvs_size(), 2);
    auto seen = co_await w->next(5s);
    EXPECT_TRUE(seen.ok()) << seen.status.text();
    EXPECT_EQ(seen.value.events.size(), 1u);
    co_await hub.close();
    co_await c.close();
  });
}

TEST(ClientSecure, WrongPasswordAndUntrustedServerAreRefused) {
  run([]() -> runtime::task<void> {
    client wrong(secure_config(env_text("RINGKV_CLIENT_CACERT"), "not-the-password"));
    auto refused = co_await kv(wrong).range("app/x");
    EXPECT_EQ(refused.status.code, grpc_code::invalid_argument) << refused.status.text();
    EXPECT_EQ(refused.status.message, "etcdserver: authentication failed, invalid user ID or password");
    co_await wrong.close();
    // A CA the server's certificate does not chain to: the handshake fails, nothing is sent.
    client stranger(secure_config(env_text("RINGKV_CLIENT_OTHER_CACERT"), env_text("RINGKV_CLIENT_PASSWORD")));
    auto untrusted = co_await kv(stranger).range("app/x");
    EXPECT_EQ(untrusted.status.code, grpc_code::unavailable) << untrusted.status.text();
    co_await stranger.close();
  });
}

TEST(ClientInterop, KeyLockRefusedWhilePythonHolds) {
  if (interop_lock_name() == nullptr) GTEST_SKIP() << "run by client_suite.py's interop phase";
  run([]() -> runtime::task<void> {
    client c(config_for(cluster_endpoints()));
    lease_keeper keeper(c);
    auto s = co_await session::open(c, keeper, 10);
    CO_ASSERT(s.ok());
    key_lock lock(*s.value, interop_lock_name());
    EXPECT_EQ((co_await lock.try_lock()).code, grpc_code::failed_precondition);
    call_options briefly;
    briefly.timeout = 700ms;
    EXPECT_EQ((co_await lock.lock(briefly)).code, grpc_code::deadline_exceeded);
    co_await s.value->close();
    co_await keeper.close();
    co_await c.close();
  });
}

TEST(ClientInterop, KeyLockHeldAgainstPython) {
  if (interop_lock_name() == nullptr) GTEST_SKIP() << "run by client_suite.py's interop phase";
  run([]() -> runtime::task<void> {
    client c(config_for(cluster_endpoints()));
    lease_keeper keeper(c);
    auto s = co_await session::open(c, keeper, 10);
    CO_ASSERT(s.ok());
    key_lock lock(*s.value, interop_lock_name());
    call_options patient;
    patient.timeout = 10s;
    CO_ASSERT((co_await lock.lock(patient)).ok());
    const std::string marker = std::string("interop-marker/") + interop_lock_name();
    co_await kv(c).put(marker, "held");  // python now tries its lock, which must fail
    co_await runtime::sleep_for(3s);
    co_await kv(c).erase(marker);
    EXPECT_TRUE((co_await lock.unlock()).ok());
    co_await s.value->close();
    co_await keeper.close();
    co_await c.close();
  });
}

}  // namespace
}  // namespace ringkv::client
