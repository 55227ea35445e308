// tests/bbolt/workload.h: a deterministic MVCC history for the etcd snapshot tests - many keys (enough
// for several bbolt branch levels), overwrites, deletes, multi-op txns (sub revisions), leases with
// keys (one revoked, one checkpointed), a compaction in the middle, and writes after it.
#pragma once

#include <cstdio>
#include <string>

#include "storage/mvcc/store.h"

namespace ringkv::tests {

inline std::string workload_key(size_t i) {
  char b[32];
  std::snprintf(b, sizeof b, "/wl/key/%06zu", i);
  return b;
}

// Runs the history on an empty store. `keys` controls the size.
inline void run_workload(storage::mvcc::MvccStore& s, size_t keys) {
  using namespace storage::mvcc;
  auto put = [&](const std::string& k, const std::string& v, lease_id_t lease = no_lease) {
    PutRequest r;
    r.key = k;
    r.value = v;
    r.lease = lease;
    (void)s.put(r);
  };
  for (size_t i = 0; i < keys; ++i) put(workload_key(i), "value-" + std::to_string(i) + std::string(i % 40, 'x'));
  for (size_t i = 0; i < keys; i += 7) put(workload_key(i), "second-" + std::to_string(i));
  for (size_t i = 0; i < keys; i += 11) {
    DeleteRangeRequest d;
    d.key = workload_key(i);
    (void)s.delete_range(d);
  }
  (void)s.lease_grant(0x1111, 3600, 0);
  (void)s.lease_grant(0x2222, 600, 0);
  (void)s.lease_grant(0x3333, 900, 0);
  put("/wl/leased/a", "la", 0x1111);
  put("/wl/leased/b", "lb", 0x1111);
  put("/wl/leased/c", "lc", 0x2222);
  put("/wl/doomed", "d", 0x3333);
  (void)s.lease_revoke(0x3333);
  (void)s.lease_checkpoint(0x2222, 300);
  TxnRequest t;  // one revision, several sub revisions
  for (int i = 0; i < 5; ++i) {
    PutRequest p;
    p.key = "/wl/txn/" + std::to_string(i);
    p.value = "t" + std::to_string(i);
    t.success.push_back(RequestOp{p});
  }
  DeleteRangeRequest dr;
  dr.key = workload_key(1);
  t.success.push_back(RequestOp{dr});
  (void)s.txn(t);
  revision_t mid = s.current_revision() - 3;
  (void)s.compact(mid);
  while (s.compaction_pending()) s.compaction_step();
  for (size_t i = 0; i < keys; i += 13) put(workload_key(i), "after-compact-" + std::to_string(i));
  for (size_t i = 2; i < keys; i += 17) {
    DeleteRangeRequest d;
    d.key = workload_key(i);
    (void)s.delete_range(d);
  }
  put("/wl/binary", std::string("\0\1\2\xff", 4));
  put("/wl/empty", "");
}

}  // namespace ringkv::tests
