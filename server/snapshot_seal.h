// server/snapshot_seal.h — the byte stream Maintenance.Snapshot sends: the state machine's snapshot,
// zero-padded to a multiple of 512 bytes, followed by the sha256 of everything before it. This is the
// shape `etcdctl snapshot save` checks (size % 512 == 32) and `snapshot restore` verifies.
#pragma once

#include <string>
#include <string_view>

namespace ringkv::server {

inline constexpr size_t snapshot_block_bytes = 512;
inline constexpr size_t sha256_bytes = 32;

std::string seal_snapshot(std::string body);  // pads and appends the digest
// True if `sealed` has the 512-byte-aligned shape and ends in the sha256 of what precedes it.
bool verify_sealed_snapshot(std::string_view sealed);

}  // namespace ringkv::server
