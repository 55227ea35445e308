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

}  // namespace
}  // namespace ringkv::server
