// server/auth/password_hash.cc — see password_hash.h.
#include "server/auth/password_hash.h"

#include <crypt.h>
#include <openssl/crypto.h>

#include <memory>

namespace ringkv::server::auth {
namespace {

// crypt_r takes C strings: a password is cut at its first NUL byte (bcrypt reads at most 72 bytes anyway).
std::string c_string(std::string_view text) { return std::string(text.substr(0, text.find('\0'))); }

}  // namespace

std::optional<std::string> bcrypt_hash(std::string_view password, int cost) {
  if (cost < bcrypt_cost_min || cost > bcrypt_cost_max) return std::nullopt;
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  // null random bytes: libxcrypt reads them from the kernel (getrandom).
  if (crypt_gensalt_rn("$2b$", static_cast<unsigned long>(cost), nullptr, 0, setting, sizeof setting) == nullptr)
    return std::nullopt;
  auto data = std::make_unique<crypt_data>();
  std::string clear = c_string(password);
  const char* hashed = crypt_r(clear.c_str(), setting, data.get());
  OPENSSL_cleanse(clear.data(), clear.size());
  if (hashed == nullptr || hashed[0] == '*') return std::nullopt;
  std::string result(hashed);
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));
  return result;
}

bool bcrypt_verify(std::string_view password, std::string_view hash) {
  if (hash.size() < 7 || hash.substr(0, 2) != "$2") return false;
  auto data = std::make_unique<crypt_data>();
  std::string clear = c_string(password);
  std::string setting(hash);
  const char* hashed = crypt_r(clear.c_str(), setting.c_str(), data.get());
  OPENSSL_cleanse(clear.data(), clear.size());
  bool same = hashed != nullptr && hashed[0] != '*' && std::string_view(hashed).size() == hash.size() &&
              CRYPTO_memcmp(hashed, hash.data(), hash.size()) == 0;
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));
  return same;
}

}  // namespace ringkv::server::auth
