// tests/mvcc/store_writes.h — the writes MVCC tests make over and over: a put (optionally leased)
// and a single-key delete, each asserted to succeed.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "storage/mvcc/store.h"

namespace ringkv::storage::mvcc {

inline void put(MvccStore& s, const std::string& k, const std::string& v, lease_id_t lease = no_lease) {
  PutRequest p;
  p.key = k;
  p.value = v;
  p.lease = lease;
  ASSERT_TRUE(s.put(p).ok());
}

inline void del(MvccStore& s, const std::string& k) {
  DeleteRangeRequest d;
  d.key = k;
  ASSERT_TRUE(s.delete_range(d).ok());
}

}  // namespace ringkv::storage::mvcc
