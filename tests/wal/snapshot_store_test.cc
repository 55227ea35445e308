// snapshot_store on real files: durable save and newest-first load, damaged snapshots moved aside as
// .broken with the previous one used, pruning, leftover temp files, and the full restart path:
// snapshot + WAL release + recovery falling back to an older snapshot when the newest is damaged.
#include "storage/wal/snapshot_store.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "runtime/log.h"
#include "tests/runtime/log_capture.h"
#include "runtime/when_all.h"
#include "storage/wal/errors.h"
#include "tests/wal/wal_test_support.h"

namespace ringkv::storage::wal {
namespace {

using testing::payload_for;
using testing::run_on_runtime;
using testing::temp_dir;
namespace fs = std::filesystem;

std::optional<loaded_snapshot> load(const std::string& dir) {
  std::optional<loaded_snapshot> out;
  run_on_runtime([&]() -> runtime::task<void> {
    const snapshot_config config{dir};  // named: GCC 12 destroys temporaries in co_await twice
    auto store = co_await snapshot_store::open(config);
    out = co_await store.load_newest();
    co_await store.close();
  });
  return out;
}

void save(const std::string& dir, snapshot_id id, const std::string& data, unsigned kept = 3) {
  run_on_runtime([&]() -> runtime::task<void> {
    const snapshot_config config{dir, kept};
    auto store = co_await snapshot_store::open(config);
    co_await store.save(id, data);
    co_await store.close();
  });
}

void damage(const std::string& path, uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put('\x7f');
}

// The raft driver's way: the payload appended a slice at a time as it is serialized, the header and
// rename at the end; the saved file loads like one saved at once and comes back mapped.
TEST(SnapshotStore, AStreamedSaveLoadsLikeAWholeOne) {
  temp_dir dir;
  const std::string snap = dir / "member/snap";
  const std::string payload = payload_for(7, 5 << 20);  // several 2 MiB slices and a short one
  std::string mapped_payload;
  run_on_runtime([&]() -> runtime::task<void> {
    const snapshot_config config{snap};
    auto store = co_await snapshot_store::open(config);
    snapshot_writer writer = co_await store.begin_save({3, 700});
    for (size_t at = 0; at < payload.size(); at += 1000003) co_await writer.append(std::string_view(payload).substr(at, 1000003));
    EXPECT_TRUE(fs::exists(snap + "/" + snapshot_file_name({3, 700}) + ".tmp"));
    EXPECT_TRUE(store.list().empty()) << "not in place before finish_save";
    snapshot_mapping saved = co_await store.finish_save(writer);
    mapped_payload = std::string(saved.payload());
    co_await store.close();
  });
  EXPECT_EQ(mapped_payload, payload);
  auto loaded = load(snap);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->id, (snapshot_id{3, 700}));
  EXPECT_EQ(loaded->data(), payload);
  EXPECT_FALSE(fs::exists(snap + "/" + snapshot_file_name({3, 700}) + ".tmp"));
}

// A save given up halfway (the member stopping, the leader's snapshot arriving): the temp file goes,
// the previous snapshot stays the newest.
TEST(SnapshotStore, AnAbandonedStreamedSaveLeavesNothingBehind) {
  temp_dir dir;
  const std::string snap = dir / "member/snap";
  save(snap, {1, 100}, "state at 100");
  run_on_runtime([&]() -> runtime::task<void> {
    const snapshot_config config{snap};
    auto store = co_await snapshot_store::open(config);
    {
      snapshot_writer writer = co_await store.begin_save({1, 200});
      co_await writer.append("half of the state");
    }
    co_await store.close();
  });
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(snap)) names.push_back(entry.path().filename());
  EXPECT_EQ(names, std::vector<std::string>{snapshot_file_name({1, 100})});
  EXPECT_EQ(load(snap)->data(), "state at 100");
}

// A member can save its own snapshot while one from the leader is being installed: both prune, and
// the second to reach an old file finds it gone. Neither save may fail for that.
TEST(SnapshotStore, ConcurrentSavesBothPruneWithoutFailing) {
  temp_dir dir;
  const std::string snap = dir / "member/snap";
  for (uint64_t i = 1; i <= 4; ++i) save(snap, {1, i * 10}, "old " + std::to_string(i), 1);
  for (int round = 0; round < 20; ++round) {
    save(snap, {1, 1000 + uint64_t(round) * 10}, "base", 3);  // three files to prune down to one
    save(snap, {1, 1001 + uint64_t(round) * 10}, "base", 3);
    run_on_runtime([&]() -> runtime::task<void> {
      const snapshot_config config{snap, 1};
      auto store = co_await snapshot_store::open(config);
      const std::string a = "own " + std::to_string(round);
      const std::string b = "leader's " + std::to_string(round);
      co_await runtime::when_all(store.save({1, 1002 + uint64_t(round) * 10}, a),
                                 store.save({2, 1003 + uint64_t(round) * 10}, b));
      co_await store.close();
    });
  }
  auto loaded = load(snap);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->id, (snapshot_id{2, 1193}));
}

TEST(SnapshotStore, LoadsTheNewestSaved) {
  temp_dir dir;
  const std::string snap = dir / "member/snap";
  EXPECT_FALSE(load(snap).has_value());
  save(snap, {1, 100}, "state at 100");
  save(snap, {2, 250}, "state at 250");
  auto loaded = load(snap);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->id, (snapshot_id{2, 250}));
  EXPECT_EQ(loaded->data(), "state at 250");
  EXPECT_EQ(fs::status(snap).permissions() & fs::perms::all, fs::perms::owner_all);
}

TEST(SnapshotStore, DamagedNewestIsMovedAsideAndThePreviousUsed) {
  temp_dir dir;
  save(dir.path(), {1, 100}, payload_for(100, 5000));
  save(dir.path(), {1, 200}, payload_for(200, 5000));
  save(dir.path(), {2, 300}, payload_for(300, 5000));
  damage(dir / snapshot_file_name({2, 300}), 3000);
  fs::resize_file(dir / snapshot_file_name({1, 200}), 1000);  // truncated too
  auto loaded = load(dir.path());
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->id, (snapshot_id{1, 100}));
  EXPECT_EQ(loaded->data(), payload_for(100, 5000));
  EXPECT_TRUE(fs::exists(dir / (snapshot_file_name({2, 300}) + ".broken")));
  EXPECT_TRUE(fs::exists(dir / (snapshot_file_name({1, 200}) + ".broken")));
  EXPECT_FALSE(fs::exists(dir / snapshot_file_name({2, 300})));
  // Damage everywhere: nothing to load, but nothing deleted either.
  damage(dir / snapshot_file_name({1, 100}), 10);
  EXPECT_FALSE(load(dir.path()).has_value());
  EXPECT_TRUE(fs::exists(dir / (snapshot_file_name({1, 100}) + ".broken")));
}

// The storage layer logs through runtime/log.h: a damaged snapshot is one JSON line, not plain text.
TEST(SnapshotStore, DamagedSnapshotIsReportedAsOneJsonLogLine) {
  temp_dir dir;
  save(dir.path(), {1, 100}, payload_for(100, 5000));
  save(dir.path(), {1, 200}, payload_for(200, 5000));
  damage(dir / snapshot_file_name({1, 200}), 3000);
  std::optional<loaded_snapshot> loaded;
  const std::string text = test::capture_log([&] { loaded = load(dir.path()); });
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->id, (snapshot_id{1, 100}));
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  EXPECT_EQ(text.rfind(R"({"level":"warn","ts":")", 0), 0u) << text;
  EXPECT_NE(text.find(R"("caller":"storage/wal/snapshot_store.cc:)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("path":")" + (dir / snapshot_file_name({1, 200})) + "\""), std::string::npos)
      << text;
  EXPECT_NE(text.find(R"("renamed-to":")"), std::string::npos) << text;
  EXPECT_EQ(text.substr(text.size() - 2), "}\n") << text;
}

TEST(SnapshotStore, KeepsOnlyTheNewestFilesAndDropsTempFiles) {
  temp_dir dir;
  for (uint64_t i = 1; i <= 5; ++i) save(dir.path(), {1, i * 10}, "s" + std::to_string(i), 2);
  std::ofstream(dir / (snapshot_file_name({1, 60}) + ".tmp")) << "interrupted save";
  std::vector<snapshot_id> ids;
  run_on_runtime([&]() -> runtime::task<void> {
    const snapshot_config config{dir.path(), 2};
    auto store = co_await snapshot_store::open(config);
    ids = store.list();
    co_await store.close();
  });
  EXPECT_EQ(ids, (std::vector<snapshot_id>{{1, 50}, {1, 40}}));
  EXPECT_FALSE(fs::exists(dir / (snapshot_file_name({1, 60}) + ".tmp")));
  EXPECT_EQ(load(dir.path())->data(), "s5");
}

// The restart path a node takes: newest valid snapshot, then the WAL entries after it. Segments are
// released only up to the OLDEST kept snapshot, so falling back to an older snapshot still finds its
// entries in the WAL.
TEST(SnapshotStore, SnapshotPlusWalReleasePlusRecoveryFallsBackToThePreviousSnapshot) {
  temp_dir dir;
  wal_config wal = testing::crash_config(dir / "member/wal");
  const std::string snap = dir / "member/snap";
  uint64_t released = 0;
  run_on_runtime([&]() -> runtime::task<void> {
    auto opened = co_await write_ahead_log::open(wal);
    const snapshot_config config{snap, 2};
    auto store = co_await snapshot_store::open(config);
    write_ahead_log& log = *opened.log;
    for (uint64_t i = 1; i <= 9000; ++i) {
      const std::string p = payload_for(i, 100);
      const entry_view e{i, 1, 0, p};
      auto durable = log.append(std::span(&e, 1), hard_state{1, 1, i});
      if (i % 64 == 0 || i == 9000) co_await std::move(durable);
      if (i == 4000 || i == 8000) {
        const std::string state = "state@" + std::to_string(i);
        co_await store.save({1, i}, state);
        co_await log.append_snapshot_marker({i, 1});
        co_await log.release(store.list().back().index);  // the oldest snapshot kept
      }
    }
    released = log.stats().segments_released;
    co_await store.close();
    co_await log.close();
  });
  EXPECT_GT(released, 0u);

  damage(snap + "/" + snapshot_file_name({1, 8000}), 70);
  run_on_runtime([&]() -> runtime::task<void> {
    const snapshot_config config{snap, 2};
    auto store = co_await snapshot_store::open(config);
    auto loaded = co_await store.load_newest();
    auto opened = co_await write_ahead_log::open(wal);
    EXPECT_TRUE(loaded);
    if (loaded) {
      EXPECT_EQ(loaded->data(), "state@4000");
      auto entries = entries_after(std::move(opened.recovered.entries), loaded->id.index);
      EXPECT_EQ(entries.size(), 5000u);
      EXPECT_EQ(entries.front().index, 4001u);
      EXPECT_EQ(entries.back().payload, payload_for(9000, 100));
    }
    EXPECT_EQ(opened.recovered.state.commit, 9000u);
    co_await opened.log->close();
    co_await store.close();
  });
}

}  // namespace
}  // namespace ringkv::storage::wal
