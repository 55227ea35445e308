// net::send_buffer: bounded chunk chain behind a connection's writes (limit, order, gather, reuse).
#include "net/tcp/send_buffer.h"

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

namespace ringkv::net {
namespace {

std::vector<std::byte> pattern(size_t n, unsigned seed) {
  std::vector<std::byte> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((i * 13 + seed) & 0xff);
  return v;
}

// Concatenates what gather() describes.
std::vector<std::byte> gathered(const send_buffer& b, size_t iov_max = 64) {
  std::vector<iovec> iov(iov_max);
  iov.resize(b.gather(iov));
  std::vector<std::byte> out;
  for (const iovec& v : iov) {
    auto* p = static_cast<const std::byte*>(v.iov_base);
    out.insert(out.end(), p, p + v.iov_len);
  }
  return out;
}

TEST(SendBuffer, TakesOnlyUpToItsLimit) {
  send_buffer b(1000, 256);
  auto data = pattern(1500, 1);
  EXPECT_EQ(b.append(data), 1000u);
  EXPECT_EQ(b.size(), 1000u);
  EXPECT_EQ(b.space(), 0u);
  EXPECT_EQ(b.append(data), 0u);
  EXPECT_EQ(gathered(b), std::vector<std::byte>(data.begin(), data.begin() + 1000));
}

TEST(SendBuffer, KeepsOrderAcrossChunksAndPartialConsumes) {
  send_buffer b(4096, 100);
  std::vector<std::byte> expected;
  unsigned seed = 0;
  for (int round = 0; round < 200; ++round) {
    auto data = pattern(static_cast<size_t>(37 + round * 11 % 300), ++seed);
    size_t took = b.append(data);
    expected.insert(expected.end(), data.begin(), data.begin() + static_cast<long>(took));
    ASSERT_EQ(gathered(b, 1000), expected);
    size_t drop = std::min(b.size(), static_cast<size_t>(round * 7 % 250));
    b.consume(drop);
    expected.erase(expected.begin(), expected.begin() + static_cast<long>(drop));
    ASSERT_EQ(b.size(), expected.size());
  }
  b.consume(b.size());
  EXPECT_TRUE(b.empty());
  EXPECT_TRUE(gathered(b).empty());
}

TEST(SendBuffer, GatherStopsAtTheIovLimitOldestFirst) {
  send_buffer b(1000, 100);
  auto data = pattern(1000, 3);
  ASSERT_EQ(b.append(data), 1000u);
  auto first_three = gathered(b, 3);
  EXPECT_EQ(first_three, std::vector<std::byte>(data.begin(), data.begin() + 300));
}

TEST(SendBuffer, EmptyAppendIsHarmless) {
  send_buffer b(10);
  EXPECT_EQ(b.append({}), 0u);
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.space(), 10u);
}

}  // namespace
}  // namespace ringkv::net
