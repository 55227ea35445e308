// server/auth/jwt_tokens.h — etcd 3.4's JWT tokens (--auth-token jwt,..., auth/jwt.go): a token is
// "<header>.<claims>.<signature>" (base64url, no padding) with the claims etcd writes,
// {"exp":<unix s>,"revision":<auth revision>,"username":"<user>"}, signed with the configured method
// (RS*, PS*, ES*, HS*) through OpenSSL's EVP. Tokens are stateless: any member (or a real etcd holding
// the same key) verifies them, nothing is replicated, a restart forgets nothing. A token names the auth
// revision it was issued at, so any later auth change makes it "revision of auth store is old"
// (clients authenticate again), as in etcd.
//
// Verification is on the request path of every call with a token: the keys are parsed once at the
// start, and tokens whose signature verified are remembered (verified_max) so that a client's next
// calls cost a hash lookup and the expiry check, not a signature check. Used on the raft shard only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "server/common/config.h"

namespace ringkv::server::auth {

class jwt_tokens {
 public:
  static constexpr size_t verified_max = 4096;      // remembered verified tokens; full: forgotten at once
  static constexpr size_t token_bytes_max = 8192;   // longer tokens are refused without parsing

  // Reads and checks the key files (etcd's jwtOptions.Key); the error is etcd's text where it has one
  // ("auth: missing key data", "auth: public and private keys don't match", ...).
  struct loaded;
  static loaded load(const jwt_token_options& options);
  ~jwt_tokens();
  jwt_tokens(jwt_tokens&&) noexcept;
  jwt_tokens& operator=(jwt_tokens&&) noexcept;

  // Only a public key was given: tokens are verified, Authenticate cannot sign (etcd's ErrVerifyOnly).
  bool verify_only() const;
  // A signed token for `user` at `auth_revision`, expiring ttl after `now_s` (unix seconds); nullopt when
  // verify-only or OpenSSL fails.
  std::optional<std::string> sign(std::string_view user, uint64_t auth_revision, int64_t now_s) const;

  struct identity {
    std::string user;
    uint64_t auth_revision = 0;
  };
  // The token's user and revision when it is signed with this key and method, well formed, and not
  // expired at `now_s` (exp >= now, as jwt-go); nullopt otherwise (etcd: invalid auth token).
  std::optional<identity> verify(std::string_view token, int64_t now_s);

 private:
  struct keys;
  explicit jwt_tokens(std::unique_ptr<keys> parsed);
  // The identity and exp of a token whose signature and form are right (expiry not checked).
  std::optional<std::pair<identity, int64_t>> verify_signed(std::string_view token) const;

  struct remembered {
    identity who;
    int64_t expires_s;
  };
  std::unique_ptr<keys> keys_;
  std::unordered_map<std::string, remembered> verified_;  // at most verified_max
};

struct jwt_tokens::loaded {
  std::optional<jwt_tokens> tokens;
  std::string error;  // set when !tokens
};

}  // namespace ringkv::server::auth
