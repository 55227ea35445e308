// Snapshot file format: names, header round trip, and detection of any damaged byte.
#include "storage/wal/snapshot_format.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace ringkv::storage::wal {
namespace {

std::vector<std::byte> make_file(snapshot_id id, const std::string& payload) {
  std::span<const std::byte> p(reinterpret_cast<const std::byte*>(payload.data()), payload.size());
  auto header = encode_snapshot_header(id, p);
  std::vector<std::byte> file(header.size() + p.size());
  std::memcpy(file.data(), header.data(), header.size());
  if (!p.empty()) std::memcpy(file.data() + header.size(), p.data(), p.size());
  return file;
}

TEST(SnapshotFormat, NamesCarryTermAndIndex) {
  EXPECT_EQ(snapshot_file_name({3, 0x100}), "0000000000000003-0000000000000100.snap");
  EXPECT_EQ(parse_snapshot_file_name("0000000000000003-0000000000000100.snap"), (snapshot_id{3, 0x100}));
  EXPECT_FALSE(parse_snapshot_file_name("0000000000000003-0000000000000100.snap.broken"));
  EXPECT_FALSE(parse_snapshot_file_name("0000000000000003-0000000000000100.snap.tmp"));
}

TEST(SnapshotFormat, ValidFileVerifies) {
  auto file = make_file({2, 9}, "state machine bytes");
  EXPECT_EQ(verify_snapshot_file({2, 9}, file), "");
  EXPECT_EQ(verify_snapshot_file({2, 9}, make_file({2, 9}, "")), "");
}

TEST(SnapshotFormat, AnyFlippedByteOrWrongNameOrSizeFails) {
  auto file = make_file({2, 9}, "state machine bytes");
  for (size_t i = 0; i < file.size(); ++i) {
    auto copy = file;
    copy[i] ^= std::byte{0x40};
    EXPECT_NE(verify_snapshot_file({2, 9}, copy), "") << "byte " << i;
  }
  EXPECT_NE(verify_snapshot_file({2, 10}, file), "");
  auto longer = file;
  longer.push_back(std::byte{0});
  EXPECT_NE(verify_snapshot_file({2, 9}, longer), "");
  EXPECT_NE(verify_snapshot_file({2, 9}, std::span(file).first(file.size() - 1)), "");
}

}  // namespace
}  // namespace ringkv::storage::wal
