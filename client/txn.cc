// client/txn.cc - request builders (txn.h).
#include "client/txn.h"

namespace ringkv::client {

std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) < 0xff) {
      end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

etcdserverpb::RangeRequest make_range(std::string_view key, const range_options& options) {
  etcdserverpb::RangeRequest request;
  request.set_key(std::string(key));
  request.set_range_end(options.range_end);
  request.set_limit(options.limit);
  request.set_revision(options.revision);
  request.set_sort_order(options.sort_order);
  request.set_sort_target(options.sort_target);
  request.set_serializable(options.serializable);
  request.set_keys_only(options.keys_only);
  request.set_count_only(options.count_only);
  request.set_min_mod_revision(options.min_mod_revision);
  request.set_max_mod_revision(options.max_mod_revision);
  request.set_min_create_revision(options.min_create_revision);
  request.set_max_create_revision(options.max_create_revision);
  return request;
}

etcdserverpb::PutRequest make_put(std::string_view key, std::string_view value, const put_options& options) {
  etcdserverpb::PutRequest request;
  request.set_key(std::string(key));
  request.set_value(std::string(value));
  request.set_lease(options.lease);
  request.set_prev_kv(options.prev_kv);
  request.set_ignore_value(options.ignore_value);
  request.set_ignore_lease(options.ignore_lease);
  return request;
}

etcdserverpb::DeleteRangeRequest make_delete(std::string_view key, const delete_options& options) {
  etcdserverpb::DeleteRangeRequest request;
  request.set_key(std::string(key));
  request.set_range_end(options.range_end);
  request.set_prev_kv(options.prev_kv);
  return request;
}

namespace {

// A compare of `target` on `key`; set_operand fills the target's field (value, version, ...).
template <typename SetOperand>
etcdserverpb::Compare make_compare(std::string_view key, cmp_op op, etcdserverpb::Compare::CompareTarget target,
                                   SetOperand set_operand) {
  etcdserverpb::Compare compare;
  compare.set_key(std::string(key));
  compare.set_target(target);
  switch (op) {
    case cmp_op::equal: compare.set_result(etcdserverpb::Compare::EQUAL); break;
    case cmp_op::greater: compare.set_result(etcdserverpb::Compare::GREATER); break;
    case cmp_op::less: compare.set_result(etcdserverpb::Compare::LESS); break;
    case cmp_op::not_equal: compare.set_result(etcdserverpb::Compare::NOT_EQUAL); break;
  }
  set_operand(compare);
  return compare;
}

bool writes(const etcdserverpb::RequestOp& op) {
  if (op.has_request_put() || op.has_request_delete_range()) return true;
  if (!op.has_request_txn()) return false;
  for (const auto& nested : op.request_txn().success()) if (writes(nested)) return true;
  for (const auto& nested : op.request_txn().failure()) if (writes(nested)) return true;
  return false;
}

}  // namespace

etcdserverpb::Compare compare_value(std::string_view key, cmp_op op, std::string_view value) {
  return make_compare(key, op, etcdserverpb::Compare::VALUE, [value](auto& c) { c.set_value(std::string(value)); });
}

etcdserverpb::Compare compare_version(std::string_view key, cmp_op op, int64_t version) {
  return make_compare(key, op, etcdserverpb::Compare::VERSION, [version](auto& c) { c.set_version(version); });
}

etcdserverpb::Compare compare_create(std::string_view key, cmp_op op, int64_t revision) {
  return make_compare(key, op, etcdserverpb::Compare::CREATE, [revision](auto& c) { c.set_create_revision(revision); });
}

etcdserverpb::Compare compare_mod(std::string_view key, cmp_op op, int64_t revision) {
  return make_compare(key, op, etcdserverpb::Compare::MOD, [revision](auto& c) { c.set_mod_revision(revision); });
}

etcdserverpb::Compare compare_lease(std::string_view key, cmp_op op, int64_t lease) {
  return make_compare(key, op, etcdserverpb::Compare::LEASE, [lease](auto& c) { c.set_lease(lease); });
}

etcdserverpb::RequestOp op_get(std::string_view key, const range_options& options) {
  etcdserverpb::RequestOp op;
  *op.mutable_request_range() = make_range(key, options);
  return op;
}

etcdserverpb::RequestOp op_put(std::string_view key, std::string_view value, const put_options& options) {
  etcdserverpb::RequestOp op;
  *op.mutable_request_put() = make_put(key, value, options);
  return op;
}

etcdserverpb::RequestOp op_delete(std::string_view key, const delete_options& options) {
  etcdserverpb::RequestOp op;
  *op.mutable_request_delete_range() = make_delete(key, options);
  return op;
}

etcdserverpb::RequestOp op_txn(const txn& nested) {
  etcdserverpb::RequestOp op;
  *op.mutable_request_txn() = nested.request();
  return op;
}

txn& txn::when(etcdserverpb::Compare compare) {
  *request_.add_compare() = std::move(compare);
  return *this;
}

txn& txn::then(etcdserverpb::RequestOp op) {
  *request_.add_success() = std::move(op);
  return *this;
}

txn& txn::otherwise(etcdserverpb::RequestOp op) {
  *request_.add_failure() = std::move(op);
  return *this;
}

bool txn::read_only() const {
  for (const auto& op : request_.success()) if (writes(op)) return false;
  for (const auto& op : request_.failure()) if (writes(op)) return false;
  return true;
}

}  // namespace ringkv::client
