// server/api/validate.cc — see validate.h. The overlap check follows etcd's checkIntervals: within one
// branch a key may be written once; a put may not fall inside a deleted range; then/else branches of a
// nested txn are mutually exclusive, so they may write the same key.
#include "server/api/validate.h"

#include <set>
#include <string>
#include <vector>

namespace ringkv::server {
namespace {

using etcdserverpb::RequestOp;
using op_list = google::protobuf::RepeatedPtrField<RequestOp>;

// [begin, end) compared as byte strings, where an empty end is +infinity (etcd's "affine" interval).
struct key_interval {
  std::string begin, end;
  bool contains(const std::string& key) const { return begin <= key && (end.empty() || key < end); }
};

struct written_keys {
  std::set<std::string> puts;
  std::vector<key_interval> deletes;
  bool deleted(const std::string& key) const {
    for (const auto& interval : deletes)
      if (interval.contains(key)) return true;
    return false;
  }
};

rpc_status check_intervals(const op_list& ops, written_keys& out) {
  for (const auto& op : ops) {
    if (!op.has_request_delete_range()) continue;
    const auto& del = op.request_delete_range();
    if (del.range_end().empty()) out.deletes.push_back({del.key(), del.key() + std::string(1, '\0')});
    else out.deletes.push_back({del.key(), del.range_end()});
  }
  for (const auto& op : ops) {
    if (!op.has_request_txn()) continue;
    written_keys then_keys, else_keys;
    if (auto s = check_intervals(op.request_txn().success(), then_keys); !s.ok()) return s;
    if (auto s = check_intervals(op.request_txn().failure(), else_keys); !s.ok()) return s;
    for (const auto& key : then_keys.puts) {
      if (out.puts.count(key) || out.deleted(key)) return etcd_errors::duplicate_key();
      out.puts.insert(key);
    }
    for (const auto& key : else_keys.puts) {
      if (out.puts.count(key) && !then_keys.puts.count(key)) return etcd_errors::duplicate_key();
      if (out.deleted(key)) return etcd_errors::duplicate_key();
      out.puts.insert(key);
    }
    out.deletes.insert(out.deletes.end(), then_keys.deletes.begin(), then_keys.deletes.end());
    out.deletes.insert(out.deletes.end(), else_keys.deletes.begin(), else_keys.deletes.end());
  }
  for (const auto& op : ops) {
    if (!op.has_request_put()) continue;
    const std::string& key = op.request_put().key();
    if (out.puts.count(key) || out.deleted(key)) return etcd_errors::duplicate_key();
    out.puts.insert(key);
  }
  return {};
}

rpc_status check_txn_ops(const etcdserverpb::TxnRequest& request, int64_t max_txn_ops);

rpc_status check_op(const RequestOp& op, int64_t max_txn_ops) {
  switch (op.request_case()) {
    case RequestOp::kRequestRange: return check_range(op.request_range());
    case RequestOp::kRequestPut: return check_put(op.request_put());
    case RequestOp::kRequestDeleteRange: return check_delete_range(op.request_delete_range());
    case RequestOp::kRequestTxn: return check_txn_ops(op.request_txn(), max_txn_ops);
    default: return etcd_errors::key_not_found();  // an empty op, as etcd answers it
  }
}

rpc_status check_txn_ops(const etcdserverpb::TxnRequest& request, int64_t max_txn_ops) {
  int64_t op_count = std::max({request.compare_size(), request.success_size(), request.failure_size()});
  if (op_count > max_txn_ops) return etcd_errors::too_many_ops();
  for (const auto& compare : request.compare())
    if (compare.key().empty()) return etcd_errors::empty_key();
  for (const auto& op : request.success())
    if (auto s = check_op(op, max_txn_ops - op_count); !s.ok()) return s;
  for (const auto& op : request.failure())
    if (auto s = check_op(op, max_txn_ops - op_count); !s.ok()) return s;
  return {};
}

}  // namespace

rpc_status check_range(const etcdserverpb::RangeRequest& request) {
  if (request.key().empty()) return etcd_errors::empty_key();
  return {};
}

rpc_status check_put(const etcdserverpb::PutRequest& request) {
  if (request.key().empty()) return etcd_errors::empty_key();
  if (request.ignore_value() && !request.value().empty()) return etcd_errors::value_provided();
  if (request.ignore_lease() && request.lease() != 0) return etcd_errors::lease_provided();
  return {};
}

rpc_status check_delete_range(const etcdserverpb::DeleteRangeRequest& request) {
  if (request.key().empty()) return etcd_errors::empty_key();
  return {};
}

rpc_status check_txn(const etcdserverpb::TxnRequest& request, uint64_t max_txn_ops) {
  if (auto s = check_txn_ops(request, int64_t(max_txn_ops)); !s.ok()) return s;
  written_keys then_keys, else_keys;
  if (auto s = check_intervals(request.success(), then_keys); !s.ok()) return s;
  return check_intervals(request.failure(), else_keys);
}

}  // namespace ringkv::server
