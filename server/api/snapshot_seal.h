// server/api/snapshot_seal.h — the byte stream Maintenance.Snapshot sends: the state machine's snapshot,
// zero-padded to a multiple of 512 bytes, followed by the sha256 of everything before it. This is the
// shape `etcdctl snapshot save` checks (size % 512 == 32) and `snapshot restore` verifies.
#pragma once

#include <string>
#include <string_view>

namespace ringkv::server {

inline constexpr size_t snapshot_block_bytes = 512;
inline constexpr size_t sha256_bytes = 32;

std::string seal_snapshot(std::string body);  // pads and appends the digest

// The same seal for a large body hashed a slice at a time: update() with every byte of the body in
// order, then finish(body) pads it and appends the digest (equal to seal_snapshot's).
class snapshot_sealer {
 public:
  snapshot_sealer();
  ~snapshot_sealer();
  snapshot_sealer(const snapshot_sealer&) = delete;
  snapshot_sealer& operator=(const snapshot_sealer&) = delete;
  void update(std::string_view bytes);
  void finish(std::string& body);

 private:
  void* context_;  // EVP_MD_CTX
  size_t hashed_bytes_ = 0;
};
// True if `sealed` has the 512-byte-aligned shape and ends in the sha256 of what precedes it.
bool verify_sealed_snapshot(std::string_view sealed);

}  // namespace ringkv::server
