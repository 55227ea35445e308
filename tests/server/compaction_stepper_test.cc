// tests/server/compaction_stepper_test.cc — server/replica/compaction_stepper on a real runtime with a
// real MvccStore: a compaction's memory is released in steps with other coroutines running in between,
// writes applied meanwhile stay correct, finished() returns once the steps are done, and the store ends
// equal (every read, HashKV) to a twin compacted all at once.
#include <gtest/gtest.h>

#include <string>

#include "runtime/reactor.h"
#include "runtime/spawn.h"
#include "runtime/timer.h"
#include "server/replica/compaction_stepper.h"
#include "storage/mvcc/store.h"

namespace ringkv::server {
namespace {

namespace mvcc = storage::mvcc;

constexpr int keys = 5000;
constexpr int versions_per_key = 4;
constexpr mvcc::StoreConfig small_steps{.compaction_step_keys = 100, .compaction_step_log_entries = 500};

void put(mvcc::MvccStore& s, const std::string& key, const std::string& value) {
  mvcc::PutRequest request;
  request.key = key;
  request.value = value;
  ASSERT_TRUE(s.put(request).ok());
}

void fill(mvcc::MvccStore& s) {
  for (int v = 0; v < versions_per_key; ++v)
    for (int k = 0; k < keys; ++k) put(s, "k" + std::to_string(k), "v" + std::to_string(v));
}

mvcc::RangeResponse everything(const mvcc::MvccStore& s) {
  mvcc::RangeRequest request;
  request.key = std::string(1, '\0');
  request.range_end = std::string(1, '\0');
  auto result = s.range(request);
  EXPECT_TRUE(result.ok());
  return result.ok() ? result.value() : mvcc::RangeResponse{};
}

int run_one_shard(std::function<runtime::task<int>()> main) {
  runtime::reactor_config config;
  config.shards = 1;
  config.handle_signals = false;
  return runtime::run(config, std::move(main));
}

TEST(CompactionStepper, StepsInterleaveWithOtherWorkAndEndAsACompactionAtOnce) {
  mvcc::MvccStore stepped(small_steps);
  mvcc::MvccStore at_once(small_steps);
  fill(stepped);
  fill(at_once);
  const mvcc::revision_t point = stepped.current_revision();
  const int64_t size_before = stepped.size_bytes();
  int turns_while_pending = 0;
  int rc = run_one_shard([&]() -> runtime::task<int> {
    compaction_stepper stepper(stepped);
    auto steps = [&]() -> runtime::task<void> { co_await stepper.run(); };
    runtime::spawn(steps());
    EXPECT_TRUE(stepped.compact(point).ok());
    stepper.wake();
    // Another coroutine of the shard: it runs between the steps and writes meanwhile.
    auto other = [&]() -> runtime::task<void> {
      for (int i = 0; stepped.compaction_unfinished(); ++i) {
        ++turns_while_pending;
        put(stepped, "k" + std::to_string(i % keys), "during");
        co_await runtime::yield();
      }
    };
    runtime::spawn(other());
    co_await stepper.finished();
    EXPECT_FALSE(stepped.compaction_unfinished());
    stepper.stop();
    co_await runtime::sleep_for(std::chrono::milliseconds(1));  // run() returns
    co_return 0;
  });
  ASSERT_EQ(rc, 0);
  // keys * versions / 100 keys per step: many steps, each followed by the other coroutine's turn.
  EXPECT_GT(turns_while_pending, keys / int(small_steps.compaction_step_keys) / 2);
  EXPECT_LT(stepped.size_bytes(), size_before);

  // The twin: the same compaction done at once, then the same writes.
  ASSERT_TRUE(at_once.compact(point).ok());
  while (at_once.compaction_pending()) at_once.compaction_step();
  for (int i = 0; i < turns_while_pending; ++i) put(at_once, "k" + std::to_string(i % keys), "during");
  ASSERT_EQ(stepped.current_revision(), at_once.current_revision());
  mvcc::RangeResponse a = everything(stepped), b = everything(at_once);
  ASSERT_EQ(a.kvs.size(), b.kvs.size());
  for (size_t i = 0; i < a.kvs.size(); ++i) EXPECT_EQ(a.kvs[i], b.kvs[i]);
  EXPECT_EQ(stepped.size_bytes(), at_once.size_bytes());
  auto hash_a = stepped.hash_kv(0), hash_b = at_once.hash_kv(0);
  ASSERT_TRUE(hash_a.ok() && hash_b.ok());
  EXPECT_EQ(hash_a->hash, hash_b->hash);
  mvcc::RangeRequest old;
  old.key = "k1";
  old.revision = point - 1;
  EXPECT_FALSE(stepped.range(old).ok());  // compacted
}

}  // namespace
}  // namespace ringkv::server
