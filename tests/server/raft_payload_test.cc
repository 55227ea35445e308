// tests/server/raft_payload_test.cc — the raft entry payload layout round-trips and rejects garbage,
// and what the lease_ask / lease_answer entries do when kv_applier applies them; writes proposed before
// `auth enable` and applied after it.
#include "server/replica/raft_payload.h"

#include <gtest/gtest.h>

#include <vector>

#include "etcd/rpc.pb.h"
#include "server/replica/kv_applier.h"

namespace ringkv::server {
namespace {

TEST(RaftPayload, RoundTrip) {
  std::string message("\x0a\x03" "foo", 5);
  std::string entry = encode_payload(proposal_kind::txn, 0x0102030405060708ULL, message);
  ASSERT_EQ(entry.size(), payload_header_bytes + message.size());
  EXPECT_EQ(uint8_t(entry[0]), 3);
  EXPECT_EQ(uint8_t(entry[1]), 0x08);  // little endian request id
  auto decoded = decode_payload(entry);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->kind, proposal_kind::txn);
  EXPECT_EQ(decoded->request_id, 0x0102030405060708ULL);
  EXPECT_EQ(decoded->message, message);
}

TEST(RaftPayload, EmptyMessageIsValid) {
  auto decoded = decode_payload(encode_payload(proposal_kind::alarm, 7, ""));
  ASSERT_TRUE(decoded);
  EXPECT_TRUE(decoded->message.empty());
}

TEST(RaftPayload, RejectsShortAndUnknown) {
  EXPECT_FALSE(decode_payload(""));
  EXPECT_FALSE(decode_payload(std::string(8, '\x01')));
  std::string unknown = encode_payload(proposal_kind::put, 1, "x");
  unknown[0] = char(proposal_kind_max + 1);
  EXPECT_FALSE(decode_payload(unknown));
  unknown[0] = 0;
  EXPECT_FALSE(decode_payload(unknown));
}

TEST(RaftPayload, KindsKeepTheirNumbers) {  // replayed from WALs written by earlier versions
  EXPECT_EQ(uint8_t(proposal_kind::lease_checkpoint), 8);
  EXPECT_EQ(uint8_t(proposal_kind::lease_ask), 9);
  EXPECT_EQ(uint8_t(proposal_kind::lease_answer), 10);
  EXPECT_TRUE(decode_payload(encode_payload(proposal_kind::lease_answer, 1, "")));
}

TEST(RaftPayload, LeaseAskRoundTripAndLayout) {
  lease_ask ask{lease_ask_mode::time_to_live, 0x1122334455667788ULL, 42, -5};
  std::string bytes = encode_lease_ask(ask);
  ASSERT_EQ(bytes.size(), lease_ask_bytes);
  EXPECT_EQ(uint8_t(bytes[0]), 2);
  EXPECT_EQ(uint8_t(bytes[1]), 0x88);  // little endian member id
  auto decoded = decode_lease_ask(bytes);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->mode, lease_ask_mode::time_to_live);
  EXPECT_EQ(decoded->asker, ask.asker);
  EXPECT_EQ(decoded->nonce, 42u);
  EXPECT_EQ(decoded->lease_id, -5);
}

TEST(RaftPayload, LeaseAskRejectsWrongSizeAndMode) {
  std::string bytes = encode_lease_ask({lease_ask_mode::renew, 1, 2, 3});
  EXPECT_FALSE(decode_lease_ask(bytes.substr(0, lease_ask_bytes - 1)));
  EXPECT_FALSE(decode_lease_ask(bytes + "x"));
  bytes[0] = 0;
  EXPECT_FALSE(decode_lease_ask(bytes));
  bytes[0] = char(lease_ask_mode_max + 1);
  EXPECT_FALSE(decode_lease_ask(bytes));
}

TEST(RaftPayload, LeaseAnswerRoundTrip) {
  std::string bytes = encode_lease_answer({7, 9, -1});
  ASSERT_EQ(bytes.size(), lease_answer_bytes);
  auto decoded = decode_lease_answer(bytes);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->asker, 7u);
  EXPECT_EQ(decoded->nonce, 9u);
  EXPECT_EQ(decoded->ttl_s, -1);
  EXPECT_FALSE(decode_lease_answer(bytes.substr(1)));
}

// ---- lease questions applied by kv_applier (the leader answers, the asker's waiter gets it) ----

constexpr uint64_t kLeader = 11;
constexpr uint64_t kFollower = 22;
constexpr int64_t kLease = 7;

struct LeaseAsks : ::testing::Test {
  mvcc::MvccStore store;
  kv_applier leader{store, 1, kLeader};
  std::vector<lease_answer> answers;  // proposed by the leader through its sink
  raft::Index index = 0;

  void SetUp() override {
    leader.set_lease_answer_sink([this](std::string bytes) {
      auto answer = decode_lease_answer(bytes);
      ASSERT_TRUE(answer);
      answers.push_back(*answer);
    });
  }
  apply_result apply(proposal_kind kind, const std::string& message) {
    return leader.apply(decode_payload(encode_payload(kind, 0, message)).value(), ++index, 1);
  }
  void grant(int64_t ttl_s) {
    etcdserverpb::LeaseGrantRequest request;
    request.set_id(kLease);
    request.set_ttl(ttl_s);
    ASSERT_TRUE(apply(proposal_kind::lease_grant, request.SerializeAsString()).status.ok());
  }
  void ask(lease_ask_mode mode, uint64_t nonce) {
    ASSERT_TRUE(apply(proposal_kind::lease_ask, encode_lease_ask({mode, kFollower, nonce, kLease})).status.ok());
  }
};

TEST_F(LeaseAsks, OnlyThePrimaryAnswers) {
  grant(5);
  ask(lease_ask_mode::renew, 1);  // not promoted: a follower applying the ask does nothing
  EXPECT_TRUE(answers.empty());
  store.lease_promote(lease_clock_ms(), 0);
  ask(lease_ask_mode::renew, 2);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].asker, kFollower);
  EXPECT_EQ(answers[0].nonce, 2u);
  EXPECT_EQ(answers[0].ttl_s, 5);
  ask(lease_ask_mode::time_to_live, 3);
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_GE(answers[1].ttl_s, 4);  // remaining, truncated to seconds
  EXPECT_LE(answers[1].ttl_s, 5);
}

TEST_F(LeaseAsks, RevokedOrUnknownLeaseIsNotRevived) {
  store.lease_promote(lease_clock_ms(), 0);
  grant(5);
  etcdserverpb::LeaseRevokeRequest revoke;
  revoke.set_id(kLease);
  ASSERT_TRUE(apply(proposal_kind::lease_revoke, revoke.SerializeAsString()).status.ok());
  ask(lease_ask_mode::renew, 1);
  ask(lease_ask_mode::time_to_live, 2);
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[0].ttl_s, 0);   // keepalive of an unknown lease: TTL 0, as etcd
  EXPECT_EQ(answers[1].ttl_s, -1);  // TimeToLive of an unknown lease: -1
  EXPECT_TRUE(store.lease_list().empty());
}

TEST_F(LeaseAsks, ExpiredLeaseAwaitingItsRevokeIsNotRenewed) {
  grant(5);
  store.lease_promote(lease_clock_ms() - 10000, 0);  // promoted 10 s ago: the 5 s lease has expired
  ASSERT_EQ(store.lease_expired(lease_clock_ms(), 10).size(), 1u);
  ask(lease_ask_mode::renew, 1);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].ttl_s, 0);
  EXPECT_EQ(store.lease_expired(lease_clock_ms(), 10).size(), 1u);  // still expired: the revoke goes on
}

TEST_F(LeaseAsks, AnswerCompletesOnlyTheAskersWaiter) {
  mvcc::MvccStore follower_store;
  kv_applier follower{follower_store, 1, kFollower};
  runtime::completion<lease_reply> done;
  lease_ask ask = follower.begin_lease_ask(lease_ask_mode::renew, kLease, &done, lease_clock_ms() + 60000);
  EXPECT_EQ(ask.asker, kFollower);
  EXPECT_EQ(follower.lease_asks_waiting(), 1u);
  auto apply_answer = [&](lease_answer answer) {
    std::string entry = encode_payload(proposal_kind::lease_answer, 0, encode_lease_answer(answer));
    return follower.apply(decode_payload(entry).value(), ++index, 1);  // the payload views `entry`
  };
  EXPECT_TRUE(apply_answer({kLeader, ask.nonce, 9}).status.ok());     // for another member
  EXPECT_TRUE(apply_answer({kFollower, ask.nonce + 1, 9}).status.ok());  // another ask
  EXPECT_FALSE(done.done());
  EXPECT_TRUE(apply_answer({kFollower, ask.nonce, 5}).status.ok());
  ASSERT_TRUE(done.done());
  lease_reply reply = done.operator co_await().await_resume();
  EXPECT_TRUE(reply.status.ok());
  EXPECT_EQ(reply.ttl_s, 5);
  EXPECT_EQ(follower.lease_asks_waiting(), 0u);
  EXPECT_TRUE(apply_answer({kFollower, ask.nonce, 5}).status.ok());  // a replayed answer: ignored
  EXPECT_EQ(follower_store.current_revision(), 1);                    // no replicated change
}

TEST_F(LeaseAsks, UnansweredAsksTimeOutOrFailAtStop) {
  runtime::completion<lease_reply> late, stopped;
  int64_t now = lease_clock_ms();
  leader.begin_lease_ask(lease_ask_mode::renew, kLease, &late, now + 100);
  leader.begin_lease_ask(lease_ask_mode::renew, kLease, &stopped, now + 60000);
  leader.expire_lease_asks(now + 50);
  EXPECT_FALSE(late.done());
  leader.expire_lease_asks(now + 100);
  ASSERT_TRUE(late.done());
  EXPECT_EQ(late.operator co_await().await_resume().status.message, etcd_errors::timeout().message);
  EXPECT_FALSE(stopped.done());
  leader.fail_lease_asks(etcd_errors::stopped());
  ASSERT_TRUE(stopped.done());
  EXPECT_EQ(stopped.operator co_await().await_resume().status.message, etcd_errors::stopped().message);
  EXPECT_EQ(leader.lease_asks_waiting(), 0u);
}

TEST_F(LeaseAsks, UndecodableAskOrAnswerIsAnError) {
  EXPECT_FALSE(apply(proposal_kind::lease_ask, "short").status.ok());
  EXPECT_FALSE(apply(proposal_kind::lease_answer, "short").status.ok());
}

TEST(PreEnableWrites, AppliedAfterAuthEnableAreCheckedAsEtcd) {
  mvcc::MvccStore store;
  kv_applier applier{store, 1, kLeader};
  raft::Index index = 0;
  auto apply = [&](proposal_kind kind, const google::protobuf::Message& message) {
    return applier.apply(decode_payload(encode_payload(kind, 0, message.SerializeAsString())).value(), ++index, 1);
  };
  etcdserverpb::PutRequest put;
  put.set_key("k");
  put.set_value("v");
  EXPECT_TRUE(apply(proposal_kind::put, put).status.ok());  // auth disabled: no user needed
  etcdserverpb::AuthUserAddRequest root;
  root.set_name("root");
  root.set_password("$2b$04$hash");
  ASSERT_TRUE(apply(proposal_kind::user_add, root).status.ok());
  etcdserverpb::AuthUserGrantRoleRequest grant;
  grant.set_user("root");
  grant.set_role("root");
  ASSERT_TRUE(apply(proposal_kind::user_grant_role, grant).status.ok());
  ASSERT_TRUE(apply(proposal_kind::auth_enable, etcdserverpb::AuthEnableRequest()).status.ok());
  // Proposed (without a user) before the enable, applied after it: refused as etcd's applier does.
  const rpc_status user_empty{grpc_code::invalid_argument, "etcdserver: user name is empty"};
  EXPECT_EQ(apply(proposal_kind::put, put).status, user_empty);
  etcdserverpb::DeleteRangeRequest del;
  del.set_key("k");
  EXPECT_EQ(apply(proposal_kind::delete_range, del).status, user_empty);
  etcdserverpb::TxnRequest txn;
  EXPECT_TRUE(apply(proposal_kind::txn, txn).status.ok());  // touches no key: etcd checks nothing
  *txn.add_success()->mutable_request_put() = put;
  EXPECT_EQ(apply(proposal_kind::txn, txn).status, user_empty);
  EXPECT_EQ(store.current_revision(), 2);  // only the first put was applied
}

}  // namespace
}  // namespace ringkv::server
