// net::endpoint: parsing and printing of "host:port" addresses; bad text is rejected, never a crash.
#include "net/tcp/endpoint.h"

#include <gtest/gtest.h>

namespace ringkv::net {
namespace {

TEST(Endpoint, ParsesIpv4AndIpv6) {
  auto v4 = endpoint::parse("127.0.0.1:2379");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->family(), AF_INET);
  EXPECT_EQ(v4->port(), 2379);
  EXPECT_EQ(v4->to_string(), "127.0.0.1:2379");
  auto v6 = endpoint::parse("[::1]:2380");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->family(), AF_INET6);
  EXPECT_EQ(v6->to_string(), "[::1]:2380");
}

TEST(Endpoint, RejectsMalformedText) {
  for (const char* bad : {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:12x", "localhost:80",
                          "::1:80", "[::1]", "1.2.3:80", ":80"}) {
    EXPECT_FALSE(endpoint::parse(bad)) << bad;
  }
}

TEST(Endpoint, LoopbackHelper) {
  EXPECT_EQ(endpoint::loopback_v4(0).to_string(), "127.0.0.1:0");
}

}  // namespace
}  // namespace ringkv::net
