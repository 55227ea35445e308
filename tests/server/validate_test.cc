// tests/server/validate_test.cc — etcd's pre-proposal request checks and their exact errors.
#include "server/api/validate.h"

#include <gtest/gtest.h>

namespace ringkv::server {
namespace {

using etcdserverpb::TxnRequest;

void add_put(google::protobuf::RepeatedPtrField<etcdserverpb::RequestOp>* ops, const std::string& key) {
  ops->Add()->mutable_request_put()->set_key(key);
}
void add_delete(google::protobuf::RepeatedPtrField<etcdserverpb::RequestOp>* ops, const std::string& key,
                const std::string& end = "") {
  auto* del = ops->Add()->mutable_request_delete_range();
  del->set_key(key);
  del->set_range_end(end);
}

TEST(Validate, SimpleRequests) {
  etcdserverpb::RangeRequest range;
  EXPECT_EQ(check_range(range), etcd_errors::empty_key());
  range.set_key("a");
  EXPECT_TRUE(check_range(range).ok());

  etcdserverpb::PutRequest put;
  EXPECT_EQ(check_put(put).message, "etcdserver: key is not provided");
  put.set_key("k");
  put.set_ignore_value(true);
  put.set_value("v");
  EXPECT_EQ(check_put(put), etcd_errors::value_provided());
  put.clear_value();
  put.set_ignore_lease(true);
  put.set_lease(5);
  EXPECT_EQ(check_put(put), etcd_errors::lease_provided());
  put.set_lease(0);
  EXPECT_TRUE(check_put(put).ok());

  etcdserverpb::DeleteRangeRequest del;
  EXPECT_EQ(check_delete_range(del).code, grpc_code::invalid_argument);
}

TEST(Validate, TxnOpLimit) {
  TxnRequest txn;
  for (int i = 0; i < 4; ++i) add_put(txn.mutable_success(), "k" + std::to_string(i));
  EXPECT_TRUE(check_txn(txn, 4).ok());
  EXPECT_EQ(check_txn(txn, 3), etcd_errors::too_many_ops());
}

TEST(Validate, TxnDuplicateKeys) {
  TxnRequest twice;
  add_put(twice.mutable_success(), "a");
  add_put(twice.mutable_success(), "a");
  EXPECT_EQ(check_txn(twice, 128), etcd_errors::duplicate_key());

  TxnRequest put_in_deleted_range;
  add_delete(put_in_deleted_range.mutable_success(), "a", "c");
  add_put(put_in_deleted_range.mutable_success(), "b");
  EXPECT_EQ(check_txn(put_in_deleted_range, 128), etcd_errors::duplicate_key());

  TxnRequest put_outside_range;
  add_delete(put_outside_range.mutable_success(), "a", "c");
  add_put(put_outside_range.mutable_success(), "c");
  EXPECT_TRUE(check_txn(put_outside_range, 128).ok());

  TxnRequest success_and_failure;  // different branches of the top level may write the same key
  add_put(success_and_failure.mutable_success(), "a");
  add_put(success_and_failure.mutable_failure(), "a");
  EXPECT_TRUE(check_txn(success_and_failure, 128).ok());

  TxnRequest nested;  // nested then/else may share keys, but not with a put at the outer level
  auto* inner = nested.add_success()->mutable_request_txn();
  add_put(inner->mutable_success(), "x");
  add_put(inner->mutable_failure(), "x");
  EXPECT_TRUE(check_txn(nested, 128).ok());
  add_put(nested.mutable_success(), "x");
  EXPECT_EQ(check_txn(nested, 128), etcd_errors::duplicate_key());
}

TEST(Validate, TxnEmptyCompareKeyAndEmptyOp) {
  TxnRequest txn;
  txn.add_compare();
  EXPECT_EQ(check_txn(txn, 128), etcd_errors::empty_key());
  TxnRequest empty_op;
  empty_op.add_success();
  EXPECT_EQ(check_txn(empty_op, 128), etcd_errors::key_not_found());
}

}  // namespace
}  // namespace ringkv::server
