// server/api/snapshot_seal.cc — padding and sha256 trailer of server/snapshot_seal.h (OpenSSL's SHA256).
#include "server/api/snapshot_seal.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cassert>
#include <cstring>
#include <stdexcept>

namespace ringkv::server {

snapshot_sealer::snapshot_sealer() : context_(EVP_MD_CTX_new()) {
  if (context_ == nullptr || EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(context_), EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("sha256 is not available");
}

snapshot_sealer::~snapshot_sealer() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(context_)); }

void snapshot_sealer::update(std::string_view bytes) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(context_), bytes.data(), bytes.size());
  hashed_bytes_ += bytes.size();
}

void snapshot_sealer::finish(std::string& body) {
  assert(hashed_bytes_ == body.size());  // every byte of the body went through update()
  size_t padded = (body.size() + snapshot_block_bytes - 1) / snapshot_block_bytes * snapshot_block_bytes;
  if (padded == 0) padded = snapshot_block_bytes;  // never an empty stream: a restore needs a block
  const size_t body_bytes = body.size();
  body.resize(padded, '\0');
  update(std::string_view(body).substr(body_bytes));
  unsigned char digest[SHA256_DIGEST_LENGTH];
  unsigned int digest_bytes = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(context_), digest, &digest_bytes);
  assert(digest_bytes == sha256_bytes);
  body.append(reinterpret_cast<const char*>(digest), sha256_bytes);
}

std::string seal_snapshot(std::string body) {
  snapshot_sealer sealer;
  sealer.update(body);
  sealer.finish(body);
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
