// server/auth/simple_tokens.cc — see simple_tokens.h.
#include "server/auth/simple_tokens.h"

#include <algorithm>
#include <cassert>

#include <openssl/rand.h>

namespace ringkv::server::auth {

void simple_tokens::assign(std::string token, std::string user, int64_t now_ms) {
  if (tokens_.size() >= tokens_max && !tokens_.contains(token)) make_room(now_ms);
  tokens_[std::move(token)] = {std::move(user), now_ms + ttl_ms_};
  assert(tokens_.size() <= tokens_max);
}

std::optional<std::string> simple_tokens::user_of(std::string_view token, int64_t now_ms) {
  auto it = tokens_.find(std::string(token));
  if (it == tokens_.end()) return std::nullopt;
  if (it->second.expires_ms <= now_ms) {
    tokens_.erase(it);
    return std::nullopt;
  }
  it->second.expires_ms = now_ms + ttl_ms_;
  return it->second.user;
}

void simple_tokens::invalidate_user(std::string_view user) {
  std::erase_if(tokens_, [user](const auto& item) { return item.second.user == user; });
}

void simple_tokens::clear() { tokens_.clear(); }

void simple_tokens::make_room(int64_t now_ms) {
  std::erase_if(tokens_, [now_ms](const auto& item) { return item.second.expires_ms <= now_ms; });
  if (tokens_.size() < tokens_max) return;
  auto soonest = std::min_element(tokens_.begin(), tokens_.end(), [](const auto& a, const auto& b) {
    return a.second.expires_ms < b.second.expires_ms;
  });
  tokens_.erase(soonest);
}

std::string simple_token_prefix() {
  static constexpr std::string_view letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  // A token is a bearer credential: its letters come from OpenSSL's CSPRNG, bytes >= 208 are drawn
  // again so that every letter is equally likely (208 = 4 x 52).
  std::string prefix;
  while (prefix.size() < 16) {
    unsigned char bytes[32];
    [[maybe_unused]] int drawn = RAND_bytes(bytes, sizeof bytes);
    assert(drawn == 1 && "OpenSSL's random generator is seeded at start-up");
    for (unsigned char byte : bytes)
      if (byte < 208 && prefix.size() < 16) prefix.push_back(letters[byte % letters.size()]);
  }
  return prefix;
}

}  // namespace ringkv::server::auth
