// server/snapshot_seal.cc — padding and sha256 trailer of server/snapshot_seal.h (OpenSSL's SHA256).
#include "server/snapshot_seal.h"

#include <openssl/sha.h>

#include <cstring>

namespace ringkv::server {

std::string seal_snapshot(std::string body) {
  size_t padded = (body.size() + snapshot_block_bytes - 1) / snapshot_block_bytes * snapshot_block_bytes;
  if (padded == 0) padded = snapshot_block_bytes;  // never an empty stream: a restore needs a block
  body.resize(padded, '\0');
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest);
  body.append(reinterpret_cast<const char*>(digest), sizeof digest);
  return body;
}

bool verify_sealed_snapshot(std::string_view sealed) {
  if (sealed.size() % snapshot_block_bytes != sha256_bytes) return false;
  size_t body_bytes = sealed.size() - sha256_bytes;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(sealed.data()), body_bytes, digest);
  return std::memcmp(digest, sealed.data() + body_bytes, sha256_bytes) == 0;
}

}  // namespace ringkv::server
