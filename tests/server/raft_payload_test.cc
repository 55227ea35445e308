// tests/server/raft_payload_test.cc — the raft entry payload layout round-trips and rejects garbage.
#include "server/raft_payload.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace ringkv::server
