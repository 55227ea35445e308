// tests/bbolt/etcd_snapshot_test.cc: ringkv state -> etcd 3.4 snapshot file -> ringkv state, compared
// read by read (every key at several revisions, leases, compaction point, HashKV); member records;
// status numbers; corrupt and truncated snapshots refused with the store left empty.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "storage/etcd_snapshot/reader.h"
#include "storage/etcd_snapshot/writer.h"
#include "tests/bbolt/workload.h"

namespace ringkv::storage::etcd_snapshot {
namespace {

using mvcc::MvccStore;

std::vector<mvcc::KeyValue> all_at(const MvccStore& s, mvcc::revision_t rev) {
  mvcc::RangeRequest r;
  r.key = std::string(1, '\0');
  r.range_end = std::string(1, '\0');
  r.revision = rev;
  auto resp = s.range(r);
  EXPECT_TRUE(resp.ok());
  return resp.ok() ? resp.value().kvs : std::vector<mvcc::KeyValue>{};
}

ClusterState sample_cluster() {
  ClusterState c;
  c.members = {{0x8e9e05c52164694d, "n1", {"http://127.0.0.1:2380"}, {"http://127.0.0.1:2379"}, false},
               {0x12ab, "n2 <learner>", {"http://127.0.0.1:2381", "http://10.0.0.2:2381"}, {}, true}};
  c.removed_member_ids = {0x77};
  c.consistent_index = 4242;
  c.auth_enabled = true;
  c.auth_revision = 77;
  c.auth_users = {{"zed", "user-record-z"}, {"alice", std::string("user\0record-a", 13)}};  // written sorted
  c.auth_roles = {{"reader", "role-record"}};
  return c;
}

void expect_same_state(const MvccStore& a, const MvccStore& b) {
  EXPECT_EQ(a.current_revision(), b.current_revision());
  EXPECT_EQ(a.compact_revision(), b.compact_revision());
  for (mvcc::revision_t rev = std::max<mvcc::revision_t>(a.compact_revision(), 1); rev <= a.current_revision();
       rev += std::max<mvcc::revision_t>(1, a.current_revision() / 20)) {
    ASSERT_EQ(all_at(a, rev), all_at(b, rev)) << "at revision " << rev;
  }
  EXPECT_EQ(all_at(a, 0), all_at(b, 0));
  auto la = a.lease_records(), lb = b.lease_records();
  ASSERT_EQ(la.size(), lb.size());
  for (size_t i = 0; i < la.size(); ++i) {
    EXPECT_EQ(la[i].id, lb[i].id);
    EXPECT_EQ(la[i].ttl_s, lb[i].ttl_s);
    EXPECT_EQ(la[i].remaining_ttl_s, lb[i].remaining_ttl_s);
  }
  EXPECT_EQ(a.hash_kv(0).value().hash, b.hash_kv(0).value().hash);
}

TEST(EtcdSnapshot, RoundTripKeepsHistoryLeasesAndMembers) {
  MvccStore a;
  tests::run_workload(a, 30000);
  std::string file = write_snapshot(a, sample_cluster());
  EXPECT_TRUE(has_sha256_trailer(file.size()));
  bbolt::MemorySource src(file);
  MvccStore b;
  LoadedSnapshot loaded = load_snapshot(src, b);
  auto members = sample_cluster().members;  // the bucket lists them by hex id
  std::sort(members.begin(), members.end(), [](const Member& x, const Member& y) { return member_key(x.id) < member_key(y.id); });
  EXPECT_EQ(loaded.cluster.members, members);
  EXPECT_EQ(loaded.cluster.removed_member_ids, sample_cluster().removed_member_ids);
  EXPECT_EQ(loaded.cluster.consistent_index, 4242u);
  EXPECT_EQ(loaded.cluster.cluster_version, "3.4.0");
  EXPECT_TRUE(loaded.cluster.auth_enabled);
  EXPECT_EQ(loaded.cluster.auth_revision, 77u);
  using Records = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(loaded.cluster.auth_users, (Records{{"alice", std::string("user\0record-a", 13)}, {"zed", "user-record-z"}}));
  EXPECT_EQ(loaded.cluster.auth_roles, (Records{{"reader", "role-record"}}));
  EXPECT_EQ(loaded.leases, 2);
  EXPECT_EQ(loaded.unleased_keys, 0);
  expect_same_state(a, b);
  // Leases keep their keys: revoking one deletes them.
  ASSERT_TRUE(b.lease_revoke(0x1111).ok());
  mvcc::RangeRequest r;
  r.key = "/wl/leased/a";
  EXPECT_EQ(b.range(r).value().kvs.size(), 0u);

  SnapshotStatus st = snapshot_status(src);
  EXPECT_EQ(st.revision, a.current_revision());
  EXPECT_EQ(st.total_keys, loaded.key_records + 2 /*leases*/ + 3 /*meta*/ + 2 + 1 /*members*/ + 1 /*cluster*/ + 2 /*auth*/ +
                                3 /*authUsers, authRoles*/);
  EXPECT_EQ(st.total_size + sha256_bytes, file.size());
}

TEST(EtcdSnapshot, SteppedWriteWithAppliesInBetweenIsTheStateAtTheStart) {
  MvccStore a;
  tests::run_workload(a, 3000);
  std::string expected = write_snapshot(a, {});
  std::string file;
  // file_bytes(): the whole file's size, known before its first byte reaches the sink (the
  // Maintenance.Snapshot stream's remaining_bytes).
  uint64_t file_bytes = 0;
  {
    SnapshotWriter w(a, {}, [&](std::string_view b) {
      if (file.empty()) file_bytes = w.file_bytes();
      file.append(b);
    });
    EXPECT_EQ(w.file_bytes(), 0u);
    int n = 0;
    while (!w.step(4096)) {
      mvcc::PutRequest p;
      p.key = "/later/" + std::to_string(n++);
      (void)a.put(p);
      (void)a.compact(a.current_revision() - 1);  // logical only: the writer holds the physical step off
      EXPECT_FALSE(a.compaction_pending());
    }
    EXPECT_EQ(w.file_bytes(), file.size());
  }
  EXPECT_EQ(file_bytes, file.size());
  EXPECT_EQ(file, expected);
}

TEST(EtcdSnapshot, ManyCompactedKeysNeedSeveralWindows) {
  MvccStore a;
  size_t n = MvccStore::RevisionCursor::window_records + 5000;
  for (size_t i = 0; i < n; ++i) {
    mvcc::PutRequest p;
    p.key = tests::workload_key(n - i);  // revision order differs from key order
    p.value = "v";
    (void)a.put(p);
  }
  (void)a.compact(a.current_revision());
  while (a.compaction_pending()) a.compaction_step();
  std::string file = write_snapshot(a, {});
  bbolt::MemorySource src(file);
  MvccStore b;
  (void)load_snapshot(src, b);
  expect_same_state(a, b);
}

TEST(EtcdSnapshot, EmptyStore) {
  MvccStore a, b;
  std::string file = write_snapshot(a, {});
  bbolt::MemorySource src(file);
  LoadedSnapshot l = load_snapshot(src, b);
  EXPECT_EQ(l.key_records, 0);
  EXPECT_EQ(b.current_revision(), 1);
  EXPECT_EQ(snapshot_status(src).revision, 0);
}

TEST(EtcdSnapshot, MemberJson) {
  Member m{0x8e9e05c52164694d, "a\"b<c>", {"http://x:1"}, {}, true};
  std::string j = member_json(m);
  EXPECT_EQ(j, "{\"id\":10276657743932975437,\"peerURLs\":[\"http://x:1\"],\"isLearner\":true,"
               "\"name\":\"a\\\"b\\u003cc\\u003e\"}");
  EXPECT_EQ(parse_member_json(j), m);
  EXPECT_THROW(parse_member_json("{\"id\":1,"), snapshot_error);
  EXPECT_THROW(parse_member_json("{\"id\":99999999999999999999}"), snapshot_error);
  EXPECT_EQ(member_key(0x12ab), "12ab");
  EXPECT_EQ(parse_member_key("12ab"), 0x12abu);
  EXPECT_FALSE(parse_member_key("12AB-"));
}

TEST(EtcdSnapshot, CorruptOrTruncatedFilesAreRefusedAndLeaveTheStoreEmpty) {
  MvccStore a;
  tests::run_workload(a, 2000);
  std::string good = write_snapshot(a, sample_cluster());
  auto load_fails = [&](const std::string& bytes, bool skip_hash, const char* why) {
    bbolt::MemorySource src(bytes);
    MvccStore b;
    tests::run_workload(b, 10);
    EXPECT_THROW(load_snapshot(src, b, {skip_hash}), std::runtime_error) << why;
    EXPECT_EQ(b.key_count(), 0u) << why;
    EXPECT_TRUE(b.lease_records().empty()) << why;
  };
  load_fails(good.substr(0, good.size() - 1), false, "one byte short");
  load_fails(good.substr(0, good.size() - 4096), false, "a page short");
  load_fails(good.substr(0, good.size() - 32), false, "no trailer");
  std::string flipped = good;
  flipped[flipped.size() / 2] ^= 0x40;
  load_fails(flipped, false, "flipped byte");
  // Without the hash check, damage inside the key bucket still fails cleanly.
  std::string broken = good;
  for (size_t at = 5 * 4096; at + 64 < broken.size() - 32; at += 4096) broken[at + 40] ^= 0x7f;
  load_fails(broken, true, "broken pages");
  try {
    bbolt::MemorySource src(flipped);
    MvccStore b;
    load_snapshot(src, b);
  } catch (const snapshot_error& e) {
    EXPECT_NE(std::string(e.what()).find("sha256 mismatch"), std::string::npos) << e.what();
  }
}

TEST(EtcdSnapshot, RandomDamageWithoutHashCheckNeverCrashes) {
  MvccStore a;
  tests::run_workload(a, 500);
  std::string good = write_snapshot(a, sample_cluster());
  std::mt19937_64 rng(11);
  for (int round = 0; round < 1500; ++round) {
    std::string bytes = good;
    for (int i = 0; i < 1 + static_cast<int>(rng() % 6); ++i) bytes[rng() % (bytes.size() - 32)] = static_cast<char>(rng());
    bbolt::MemorySource src(bytes);
    MvccStore b;
    try {
      (void)load_snapshot(src, b, {true});
    } catch (const std::runtime_error&) {
      EXPECT_EQ(b.key_count(), 0u);
    }
    try {
      (void)snapshot_status(src);  // reads every bucket, also those a load skips
    } catch (const std::runtime_error&) {
    }
  }
}

}  // namespace
}  // namespace ringkv::storage::etcd_snapshot
