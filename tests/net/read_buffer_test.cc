// net::read_buffer: the connection's contiguous receive buffer (commit/consume, compaction, capacity).
#include "net/tcp/read_buffer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace ringkv::net {
namespace {

void put(read_buffer& b, const std::string& text) {
  auto space = b.writable();
  ASSERT_GE(space.size(), text.size());
  std::memcpy(space.data(), text.data(), text.size());
  b.commit(text.size());
}

std::string text_of(const read_buffer& b) {
  auto r = b.readable();
  return std::string(reinterpret_cast<const char*>(r.data()), r.size());
}

TEST(ReadBuffer, CommitThenConsumeInOrder) {
  read_buffer b(64);
  EXPECT_TRUE(b.empty());
  put(b, "hello ");
  put(b, "world");
  EXPECT_EQ(text_of(b), "hello world");
  b.consume(6);
  EXPECT_EQ(text_of(b), "world");
  b.consume(5);
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.writable().size(), 64u);  // fully drained: the whole capacity is free again
}

TEST(ReadBuffer, CompactsUnreadBytesWhenTheTailRunsShort) {
  read_buffer b(16);
  put(b, "0123456789abcd");  // 14 of 16 used
  b.consume(10);             // "abcd" unread, only 2 free at the end
  auto space = b.writable();
  EXPECT_EQ(space.size(), 12u);
  EXPECT_EQ(text_of(b), "abcd");
  put(b, "efghijklmnop");
  EXPECT_EQ(text_of(b), "abcdefghijklmnop");
  EXPECT_TRUE(b.writable().empty());  // full of unread bytes
}

}  // namespace
}  // namespace ringkv::net
