// snapshot_policy: a snapshot waits for --snapshot-count entries and for as many entry bytes as the last
// snapshot's size, so a growing state is snapshotted ever more rarely (the cost per written byte stays
// bounded) while a state of constant size is snapshotted every --snapshot-count entries, as in etcd.
#include "server/replica/snapshot_policy.h"

#include <gtest/gtest.h>

namespace ringkv::server {
namespace {

TEST(SnapshotPolicy, WaitsForTheEntryCount) {
  EXPECT_FALSE(snapshot_due({99, 0, 0, 1 << 20}, 100));
  EXPECT_TRUE(snapshot_due({100, 0, 0, 1 << 20}, 100));
  EXPECT_FALSE(snapshot_due({150, 100, 0, 1 << 20}, 100));
  EXPECT_TRUE(snapshot_due({200, 100, 0, 1 << 20}, 100));
}

TEST(SnapshotPolicy, WaitsForAsManyEntryBytesAsTheLastSnapshot) {
  EXPECT_FALSE(snapshot_due({1000, 100, 5000, 4999}, 100));
  EXPECT_TRUE(snapshot_due({1000, 100, 5000, 5000}, 100));
  EXPECT_TRUE(snapshot_due({200, 100, 0, 0}, 100)) << "no snapshot yet: only the count matters";
}

// Simulates appending entries of `entry_bytes` to a state that keeps every entry (no compaction):
// the snapshot size is the bytes applied so far. Returns how many snapshots were taken.
uint64_t snapshots_for(uint64_t entries, uint64_t entry_bytes, uint64_t snapshot_entries, bool state_grows) {
  snapshot_progress progress;
  uint64_t taken = 0;
  for (uint64_t i = 1; i <= entries; ++i) {
    progress.applied_index = i;
    progress.applied_bytes_since += entry_bytes;
    if (!snapshot_due(progress, snapshot_entries)) continue;
    ++taken;
    progress.snapshot_index = i;
    progress.snapshot_bytes = state_grows ? i * entry_bytes : 1000 * entry_bytes;
    progress.applied_bytes_since = 0;
  }
  return taken;
}

TEST(SnapshotPolicy, GrowingStateIsSnapshottedLogarithmicallyOften) {
  // 1M entries of 300 B with --snapshot-count 1000: the state doubles between snapshots.
  uint64_t taken = snapshots_for(1'000'000, 300, 1000, true);
  EXPECT_GE(taken, 9u);
  EXPECT_LE(taken, 11u);
}

TEST(SnapshotPolicy, StateOfConstantSizeFollowsTheCount) {
  // A compacted state of 1000 entries' worth: every --snapshot-count (1000) entries, as in etcd.
  EXPECT_EQ(snapshots_for(100'000, 300, 1000, false), 100u);
}

}  // namespace
}  // namespace ringkv::server
