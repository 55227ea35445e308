// client/stm.h - software transactional memory over etcd as Go clientv3/concurrency.STM: `apply` reads
// and writes keys through an stm; its writes are committed in one Txn guarded by compares on what it
// read, and the whole of `apply` runs again (with the reads of the failed attempt prefetched) when
// another writer changed them in between. Levels, as Go's:
//   serializable_snapshot (default): reads from one revision (the first read's); commits only if no
//       key read or written changed since that revision.
//   serializable: reads from one revision; commits only if no key read changed.
//   repeatable_read: reads the newest revision, each key once; commits only if no key read changed.
//   read_committed: no conflict check (the writes are applied as they are).
//
//   auto done = co_await run_stm(c, [&](stm& s) -> runtime::task<status> {
//     auto from = co_await s.get("a");
//     if (!from.ok()) co_return from.status;
//     s.put("a", std::to_string(std::stoi(from.value) - 1));
//     co_return status{};
//   });
// `apply` must not have effects beyond the stm (it may run several times); a non-OK status it returns
// ends run_stm with that status and nothing written.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "client/client.h"
#include "client/txn.h"
#include "etcd/rpc.pb.h"

namespace ringkv::client {

enum class isolation : uint8_t { serializable_snapshot, serializable, repeatable_read, read_committed };

struct stm_options {
  isolation level = isolation::serializable_snapshot;
  uint32_t attempts_limit = 100;  // runs of apply before run_stm gives up with ABORTED
  call_options call;              // every Range / Txn of the transaction (timeout per call)
};

class stm {
 public:
  // The value of `key` ("" when absent, as Go's Get): a key this transaction wrote reads as written;
  // a key already read reads the same again.
  runtime::task<result<std::string>> get(std::string_view key);
  // The mod revision of `key` as this transaction sees it (0 when absent).
  runtime::task<result<int64_t>> mod_revision(std::string_view key);
  void put(std::string_view key, std::string_view value, const put_options& options = {});
  void erase(std::string_view key);

 private:
  friend runtime::task<result<etcdserverpb::TxnResponse>> run_stm(client&, std::function<runtime::task<status>(stm&)>,
                                                                   stm_options);
  stm(client& c, const stm_options& options) : client_(c), options_(options) {}

  struct read {
    int64_t header_revision = 0;  // of the Range that read it
    int64_t mod_revision = 0;     // 0: absent
    std::string value;
  };
  struct write {
    std::string value;
    bool erase = false;
    put_options options;
  };
  runtime::task<result<const read*>> fetch(std::string_view key);
  txn commit_txn() const;  // writes guarded by the level's compares, else re-reads every key read
  void prefetch(const etcdserverpb::TxnResponse& failed);  // the else-branch's reads for the next run
  void reset();  // before each run of apply: nothing read or written yet

  client& client_;
  stm_options options_;
  std::map<std::string, read, std::less<>> reads_;
  std::map<std::string, write, std::less<>> writes_;
  std::map<std::string, read, std::less<>> prefetched_;  // the last failed commit's reads, taken on first use
  int64_t snapshot_revision_ = 0;  // serializable levels: the revision every read is served from (0: unpinned)
};

// Runs `apply` until its transaction commits (see above); the committing Txn's response, or the
// status that ended it (ABORTED "stm: too many conflicts" after attempts_limit runs).
runtime::task<result<etcdserverpb::TxnResponse>> run_stm(client& c, std::function<runtime::task<status>(stm&)> apply,
                                                         stm_options options = {});

}  // namespace ringkv::client
