// tests/server/snapshot_seal_test.cc — the snapshot stream has the shape etcdctl checks
// (size % 512 == 32) and a sha256 trailer that detects any flipped byte.
#include "server/api/snapshot_seal.h"

#include <gtest/gtest.h>

namespace ringkv::server {
namespace {

TEST(SnapshotSeal, ShapeAndDigest) {
  for (size_t body_bytes : {size_t(0), size_t(1), size_t(511), size_t(512), size_t(513), size_t(100000)}) {
    std::string sealed = seal_snapshot(std::string(body_bytes, 'x'));
    EXPECT_EQ(sealed.size() % 512, 32u) << body_bytes;
    EXPECT_GE(sealed.size(), body_bytes + 32);
    EXPECT_TRUE(verify_sealed_snapshot(sealed)) << body_bytes;
  }
}

TEST(SnapshotSeal, KnownDigestOfOneZeroBlock) {
  // sha256 of 512 zero bytes.
  std::string sealed = seal_snapshot("");
  static const unsigned char expected[] = {0x07, 0x6a, 0x27, 0xc7, 0x9e, 0x5a, 0xce, 0x2a};
  EXPECT_EQ(std::string(sealed.data() + 512, 8), std::string(reinterpret_cast<const char*>(expected), 8));
}

TEST(SnapshotSeal, SealingInSlicesGivesTheSameBytes) {
  for (size_t body_bytes : {size_t(0), size_t(700), size_t(512 * 9), size_t(100001)}) {
    std::string body;
    for (size_t i = 0; i < body_bytes; ++i) body.push_back(char('a' + i % 23));
    snapshot_sealer sealer;
    for (size_t at = 0; at < body.size(); at += 4096) sealer.update(std::string_view(body).substr(at, 4096));
    std::string sliced = body;
    sealer.finish(sliced);
    EXPECT_EQ(sliced, seal_snapshot(body)) << body_bytes;
  }
}

TEST(SnapshotSeal, DetectsCorruption) {
  std::string sealed = seal_snapshot("state machine bytes");
  sealed[3] ^= 1;
  EXPECT_FALSE(verify_sealed_snapshot(sealed));
  EXPECT_FALSE(verify_sealed_snapshot(sealed.substr(1)));
}

}  // namespace
}  // namespace ringkv::server
