// tests/mvcc/snapshot_slices_test.cc: snapshots written a slice at a time (MvccStore::Snapshotter)
// while writes, deletes, lease revokes and compactions go on between the slices: the bytes are exactly
// the state at the beginning, physical compaction waits for them, restore() abandons them, and the
// earlier format (a key count instead of an end marker) still restores.
#include <gtest/gtest.h>
#include <xxhash.h>

#include <cstring>
#include <random>

#include "storage/mvcc/store.h"
#include "tests/mvcc/store_writes.h"

namespace ringkv::storage::mvcc {
namespace {

using Step = MvccStore::SnapshotStep;

std::string key_of(int i) {
  char b[16];
  std::snprintf(b, sizeof b, "k%05d", i);
  return b;
}

// A store with history: three versions of most keys, tombstones, leased keys and a compaction point
// whose physical compaction has not run yet.
void fill(MvccStore& s, int keys) {
  ASSERT_TRUE(s.lease_grant(7, 60, 0).ok());
  ASSERT_TRUE(s.lease_grant(8, 60, 0).ok());
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < keys; ++i) put(s, key_of(i), std::string(20 + i % 50, char('a' + round)), i % 10 == 0 ? 7 : no_lease);
  }
  for (int i = 0; i < keys; i += 7) del(s, key_of(i));
  ASSERT_TRUE(s.compact(s.current_revision() - keys).ok());
}

// Every kind of change the apply loop may make between two slices.
void mutate(MvccStore& s, std::mt19937& random, int keys) {
  switch (random() % 6) {
    case 0: put(s, key_of(int(random() % keys)), "new value"); break;
    case 1: put(s, key_of(keys + int(random() % 1000)), "a key created after the beginning"); break;
    case 2: put(s, "a-before-every-key", "x"); break;
    case 3: del(s, key_of(int(random() % keys))); break;
    case 4: s.compact(s.current_revision()).ok(); break;  // fails harmlessly when already compacted there
    case 5: put(s, key_of(int(random() % keys)), "leased", 8); break;
  }
}

TEST(MvccSnapshotSlices, TheBytesAreTheStateAtTheBeginningWhateverHappensBetweenSlices) {
  constexpr int keys = 3000;
  MvccStore s;
  fill(s, keys);
  const std::string expected = s.snapshot();

  std::string out = "prefix written by the caller:";
  const size_t prefix = out.size();
  std::mt19937 random(42);
  int slices = 0;
  {
    MvccStore::Snapshotter snapshotter = s.begin_snapshot(out);
    Step step;
    while ((step = snapshotter.step(512)) == Step::more) {
      ++slices;
      for (int i = 0; i < 5; ++i) mutate(s, random, keys);
      EXPECT_FALSE(s.compaction_pending()) << "physical compaction must wait for the snapshot";
    }
    EXPECT_EQ(step, Step::done);
  }
  EXPECT_GT(slices, 100);
  EXPECT_EQ(out.substr(prefix), expected);
  EXPECT_TRUE(s.compaction_pending());  // the compactions made meanwhile run now
  while (s.compaction_pending()) s.compaction_step();

  MvccStore restored;
  ASSERT_EQ(restored.restore(out.substr(prefix)), Errc::ok);
  EXPECT_EQ(restored.snapshot(), expected);
}

// The raft driver writes the bytes to the snapshot file and empties `out` between slices: the
// concatenation is still the state at the beginning, checksum included.
TEST(MvccSnapshotSlices, TheCallerMayTakeTheBytesAwayBetweenSlices) {
  constexpr int keys = 3000;
  MvccStore s;
  fill(s, keys);
  const std::string expected = s.snapshot();

  std::string out, taken;
  std::mt19937 random(7);
  {
    MvccStore::Snapshotter snapshotter = s.begin_snapshot(out);
    taken += out;  // the header, before the first step
    out.clear();
    Step step;
    while ((step = snapshotter.step(512)) == Step::more) {
      if (random() % 3 != 0) {  // not after every slice: some slices accumulate
        taken += out;
        out.clear();
      }
      for (int i = 0; i < 5; ++i) mutate(s, random, keys);
    }
    EXPECT_EQ(step, Step::done);
  }
  taken += out;
  EXPECT_EQ(taken, expected);
  MvccStore restored;
  ASSERT_EQ(restored.restore(taken), Errc::ok);
  EXPECT_EQ(restored.snapshot(), expected);
}

TEST(MvccSnapshotSlices, PhysicalCompactionResumesOnceTheSnapshotEnds) {
  MvccStore s;
  fill(s, 200);
  std::string out;
  auto snapshotter = std::make_unique<MvccStore::Snapshotter>(s.begin_snapshot(out));
  ASSERT_EQ(snapshotter->step(64), Step::more);
  EXPECT_FALSE(s.compaction_pending());
  snapshotter.reset();  // abandoned by its owner: the compaction may go on
  EXPECT_TRUE(s.compaction_pending());
  const int64_t before = s.size_bytes();
  while (s.compaction_pending()) s.compaction_step();
  EXPECT_LT(s.size_bytes(), before);
}

TEST(MvccSnapshotSlices, RestoreAbandonsASnapshotInProgress) {
  MvccStore s;
  fill(s, 500);
  MvccStore other;
  put(other, "other", "state");
  std::string out;
  MvccStore::Snapshotter snapshotter = s.begin_snapshot(out);
  ASSERT_EQ(snapshotter.step(256), Step::more);
  ASSERT_EQ(s.restore(other.snapshot()), Errc::ok);
  EXPECT_EQ(snapshotter.step(256), Step::abandoned);
  EXPECT_EQ(s.snapshot(), other.snapshot());
}

// Format 1 wrote the number of keys before them instead of an end marker after them.
std::string as_format_1(const std::string& v2, uint64_t lease_count, uint64_t key_count) {
  const size_t leases_end = 8 + 4 + 8 + 8 + 8 + lease_count * 24;
  std::string v1 = v2.substr(0, leases_end);
  const uint32_t format = 1;
  std::memcpy(v1.data() + 8, &format, sizeof format);
  v1.append(reinterpret_cast<const char*>(&key_count), sizeof key_count);
  v1.append(v2.substr(leases_end, v2.size() - leases_end - 4 - 8));  // keys, without marker and checksum
  const uint64_t sum = XXH3_64bits(v1.data(), v1.size());
  v1.append(reinterpret_cast<const char*>(&sum), sizeof sum);
  return v1;
}

TEST(MvccSnapshotSlices, SnapshotsOfTheEarlierFormatStillRestore) {
  MvccStore s;
  ASSERT_TRUE(s.lease_grant(9, 60, 0).ok());
  put(s, "a", "1", 9);
  put(s, "b", "2");
  put(s, "b", "3");
  del(s, "c");  // nothing to delete: no tombstone
  const std::string v2 = s.snapshot();
  MvccStore restored;
  ASSERT_EQ(restored.restore(as_format_1(v2, 1, 2)), Errc::ok);
  EXPECT_EQ(restored.snapshot(), v2);
  EXPECT_EQ(restored.restore(as_format_1(v2, 1, 3)), Errc::snapshot_corrupt);  // a count past the keys
}

}  // namespace
}  // namespace ringkv::storage::mvcc
