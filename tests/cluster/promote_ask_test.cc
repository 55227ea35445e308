// tests/cluster/promote_ask_test.cc — the membership entries a member and the leader exchange for
// questions only the leader answers (server/membership.h member_ask: promote_ask, reconfig_check_ask,
// ask_answer), and how peer URLs are reached
// (server/membership_join.h peer_endpoint: etcd's default http://localhost:2380 included).
#include <gtest/gtest.h>

#include "server/replica/membership.h"
#include "server/replica/membership_join.h"

namespace ringkv::server {
namespace {

TEST(PromoteAsk, AnswerRoundTripsWithEtcdsStatus) {
  member_ask answer{0x1111, 42, 0xabcdef, member_errors::learner_not_ready()};
  std::string bytes = encode_member_ask(member_op::ask_answer, answer);
  auto decoded = decode_member_ask(bytes);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->first, member_op::ask_answer);
  EXPECT_EQ(decoded->second.asker, 0x1111u);
  EXPECT_EQ(decoded->second.nonce, 42u);
  EXPECT_EQ(decoded->second.target, 0xabcdefu);
  EXPECT_EQ(decoded->second.status, member_errors::learner_not_ready());
}

TEST(PromoteAsk, AskCarriesNoStatusAndIsNotAMemberChange) {
  std::string bytes = encode_member_ask(member_op::promote_ask, {7, 8, 9, {}});
  EXPECT_EQ(bytes.size(), member_ask_bytes_min);
  auto decoded = decode_member_ask(bytes);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->first, member_op::promote_ask);
  EXPECT_TRUE(decoded->second.status.ok());
  EXPECT_FALSE(decode_member_change(bytes).has_value());  // never applied as a record change
}

TEST(PromoteAsk, ReconfigCheckAskRoundTrips) {
  auto decoded = decode_member_ask(encode_member_ask(member_op::reconfig_check_ask, {3, 4, 0, {}}));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->first, member_op::reconfig_check_ask);
  EXPECT_EQ(decoded->second.target, 0u);  // adding a member
  auto answer = decode_member_ask(encode_member_ask(member_op::ask_answer, {3, 4, 0, member_errors::unhealthy()}));
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->second.status.code, grpc_code::unavailable);
  EXPECT_EQ(answer->second.status.message, "etcdserver: unhealthy cluster");
}

TEST(PromoteAsk, RejectsShortOtherOpsAndBadCodes) {
  std::string bytes = encode_member_ask(member_op::promote_ask, {7, 8, 9, {}});
  EXPECT_FALSE(decode_member_ask(bytes.substr(0, bytes.size() - 1)).has_value());
  std::string other = bytes;
  other[0] = char(member_op::publish);
  EXPECT_FALSE(decode_member_ask(other).has_value());
  std::string bad_code = bytes;
  bad_code[25] = char(200);
  EXPECT_FALSE(decode_member_ask(bad_code).has_value());
  member_change publish{member_op::publish, make_member(5, {"http://127.0.0.1:1"}, "n5")};
  EXPECT_FALSE(decode_member_ask(encode_member_change(publish)).has_value());
}

TEST(PeerEndpoint, LocalhostIsLoopbackAndAddressesPassThrough) {
  auto local = peer_endpoint("http://localhost:2380");
  auto literal = peer_endpoint("http://127.0.0.1:2380");
  ASSERT_TRUE(local.has_value());
  ASSERT_TRUE(literal.has_value());
  EXPECT_EQ(local->to_string(), literal->to_string());
  EXPECT_TRUE(peer_endpoint("http://[::1]:2380/").has_value());
  EXPECT_FALSE(peer_endpoint("http://example.com:2380").has_value());  // no name resolution
  EXPECT_FALSE(peer_endpoint("localhost:2380").has_value());           // not a URL
}

}  // namespace
}  // namespace ringkv::server
