// client/txn.h - building etcd requests: range / put / delete options, their request messages, and a
// small builder for Txn (compares, then-branch, else-branch; nested txns). Pure: no I/O.
//
//   txn t;
//   t.when(compare_create("lock", cmp_op::equal, 0))
//    .then(op_put("lock", "me", with_lease(id)))
//    .otherwise(op_get("lock"));
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "etcd/rpc.pb.h"

namespace ringkv::client {

// The range end that selects every key starting with `prefix` (etcd's GetPrefixRangeEnd): the prefix
// with its last byte below 0xff incremented; "\0" (every key) when there is none.
std::string prefix_end(std::string_view prefix);

struct range_options {
  std::string range_end;  // empty: `key` alone; prefix_end(key): the prefix; "\0": key and above
  int64_t limit = 0;
  int64_t revision = 0;  // 0: the newest
  etcdserverpb::RangeRequest::SortOrder sort_order = etcdserverpb::RangeRequest::NONE;
  etcdserverpb::RangeRequest::SortTarget sort_target = etcdserverpb::RangeRequest::KEY;
  bool serializable = false;
  bool keys_only = false;
  bool count_only = false;
  int64_t min_mod_revision = 0;
  int64_t max_mod_revision = 0;
  int64_t min_create_revision = 0;
  int64_t max_create_revision = 0;
};

struct put_options {
  int64_t lease = 0;
  bool prev_kv = false;
  bool ignore_value = false;
  bool ignore_lease = false;
};

inline put_options with_lease(int64_t lease) {
  put_options options;
  options.lease = lease;
  return options;
}

struct delete_options {
  std::string range_end;  // as range_options::range_end
  bool prev_kv = false;
};

etcdserverpb::RangeRequest make_range(std::string_view key, const range_options& options = {});
etcdserverpb::PutRequest make_put(std::string_view key, std::string_view value, const put_options& options = {});
etcdserverpb::DeleteRangeRequest make_delete(std::string_view key, const delete_options& options = {});

enum class cmp_op : uint8_t { equal, greater, less, not_equal };

etcdserverpb::Compare compare_value(std::string_view key, cmp_op op, std::string_view value);
etcdserverpb::Compare compare_version(std::string_view key, cmp_op op, int64_t version);
etcdserverpb::Compare compare_create(std::string_view key, cmp_op op, int64_t revision);
etcdserverpb::Compare compare_mod(std::string_view key, cmp_op op, int64_t revision);
etcdserverpb::Compare compare_lease(std::string_view key, cmp_op op, int64_t lease);

class txn;
etcdserverpb::RequestOp op_get(std::string_view key, const range_options& options = {});
etcdserverpb::RequestOp op_put(std::string_view key, std::string_view value, const put_options& options = {});
etcdserverpb::RequestOp op_delete(std::string_view key, const delete_options& options = {});
etcdserverpb::RequestOp op_txn(const txn& nested);

class txn {
 public:
  txn& when(etcdserverpb::Compare compare);
  txn& then(etcdserverpb::RequestOp op);
  txn& otherwise(etcdserverpb::RequestOp op);

  const etcdserverpb::TxnRequest& request() const { return request_; }
  // True when no branch writes (then it may be retried on another endpoint like a read).
  bool read_only() const;

 private:
  etcdserverpb::TxnRequest request_;
};

}  // namespace ringkv::client
