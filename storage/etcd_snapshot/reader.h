// storage/etcd_snapshot/reader.h: reads an etcd 3.4 snapshot file (or a bare etcd bbolt db):
// `snapshot_status` computes what `etcdctl snapshot status` prints, and `load_snapshot` turns the
// file into ringkv's state - the key history with its revisions, the compaction point, leases,
// members - importing into an MvccStore in revision order (MvccStore::Importer). Pages are read
// one at a time from the file; corrupt input ends in bbolt::format_error or snapshot_error, and a
// failed load leaves the store empty.
#pragma once

#include <cstdint>
#include <string>

#include "storage/bbolt/reader.h"
#include "storage/etcd_snapshot/layout.h"
#include "storage/mvcc/store.h"

namespace ringkv::storage::etcd_snapshot {

// etcdctl snapshot status: crc32c over every bucket name and entry in order, the main revision of
// the last `key` record, the number of entries in all buckets, the database size (pages x page size).
struct SnapshotStatus {
  uint32_t hash = 0;
  int64_t revision = 0;
  int64_t total_keys = 0;
  uint64_t total_size = 0;
  bool has_sha256 = false;  // the file carries the sha256 trailer (not checked here)
};
SnapshotStatus snapshot_status(const bbolt::ByteSource& file);

// Where the bbolt database ends: before the sha256 trailer when the file has one (size % 512 == 32).
bool has_sha256_trailer(uint64_t file_bytes);
// Throws snapshot_error when the trailer does not match the database bytes; false without trailer.
bool verify_sha256_trailer(const bbolt::ByteSource& file);

struct LoadOptions {
  bool skip_hash_check = false;  // etcdctl --skip-hash-check: accept a file without (or with a wrong) trailer
};

struct LoadedSnapshot {
  ClusterState cluster;
  mvcc::revision_t revision = 0;          // the store's revision after the load
  mvcc::revision_t compact_revision = -1;
  int64_t key_records = 0;                // records in the `key` bucket
  int64_t leases = 0;
  int64_t unleased_keys = 0;              // keys that named a lease the snapshot does not have
};
LoadedSnapshot load_snapshot(const bbolt::ByteSource& file, mvcc::MvccStore& into, LoadOptions options = {});

}  // namespace ringkv::storage::etcd_snapshot
