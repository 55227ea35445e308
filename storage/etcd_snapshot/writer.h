// storage/etcd_snapshot/writer.h: writes ringkv's state as an etcd 3.4 snapshot file - the bbolt
// database of layout.h followed by its sha256 - a page at a time into a sink.
//
// The key space comes straight from the MVCC store through a RevisionCursor (revision order, only
// what survives the compaction point), so nothing is copied beyond one bbolt page per tree level;
// leases and members are small and listed up front. step() does a bounded amount of work, so the
// caller may apply entries between steps: the cursor leaves later writes out (the file is the state
// when the writer was made) and holds off the physical compaction until the writer is destroyed.
// The bbolt writer reads the key space twice (see storage/bbolt/writer.h).
#pragma once

#include <array>
#include <memory>

#include "storage/bbolt/writer.h"
#include "storage/etcd_snapshot/layout.h"
#include "storage/mvcc/store.h"

namespace ringkv::storage::etcd_snapshot {

class SnapshotWriter {
 public:
  SnapshotWriter(const mvcc::MvccStore& store, ClusterState cluster, bbolt::PageSink sink);
  ~SnapshotWriter();
  SnapshotWriter(const SnapshotWriter&) = delete;
  SnapshotWriter& operator=(const SnapshotWriter&) = delete;

  // Works until about bytes_budget bytes were read or written; true once the database and the
  // sha256 trailer are out.
  bool step(size_t bytes_budget);
  void run() { while (!step(SIZE_MAX / 2)) {} }

  mvcc::revision_t revision() const { return revision_; }
  uint64_t db_bytes() const { return bolt_->bytes_written(); }
  // The whole file's size (database and sha256) once the writer planned the database (before its first
  // bytes reach the sink); 0 before.
  uint64_t file_bytes() const;
  const std::array<unsigned char, sha256_bytes>& sha256() const { return digest_; }

 private:
  class KeySource;
  std::unique_ptr<KeySource> keys_;
  std::vector<std::unique_ptr<bbolt::EntrySource>> small_;  // meta, lease, members, ...
  std::unique_ptr<bbolt::StreamWriter> bolt_;
  bbolt::PageSink sink_;
  void* sha_ = nullptr;  // EVP_MD_CTX
  std::array<unsigned char, sha256_bytes> digest_{};
  mvcc::revision_t revision_ = 0;
  bool done_ = false;
};

// The whole file in memory (tests and small states).
std::string write_snapshot(const mvcc::MvccStore& store, const ClusterState& cluster);

}  // namespace ringkv::storage::etcd_snapshot
