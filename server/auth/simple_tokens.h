// server/auth/simple_tokens.h — etcd's "simple" tokens: opaque strings a member maps to a user name. The
// token is chosen when Authenticate's entry is applied ("<16 random letters from the proposer>.<raft
// index>"), so every member learns it and a client may use it on any member. Each use renews its TTL
// (--auth-token-ttl, etcd's simpleTokenTTL); an unknown or expired token is etcd's invalid-auth-token
// error, upon which clients authenticate again. Kept in memory only, as etcd does: a restart forgets the
// tokens (replaying the log re-registers the recent ones). Runs on the raft shard only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ringkv::server::auth {

class simple_tokens {
 public:
  // Tokens kept per member: beyond it, assigning a token first drops expired ones, then the one that
  // expires soonest (its client re-authenticates).
  static constexpr size_t tokens_max = 65536;

  explicit simple_tokens(int64_t ttl_ms) : ttl_ms_(ttl_ms) {}

  void assign(std::string token, std::string user, int64_t now_ms);
  // The user of a live token (its TTL renewed), nullopt when unknown or expired.
  std::optional<std::string> user_of(std::string_view token, int64_t now_ms);
  void invalidate_user(std::string_view user);  // the user was deleted or its password changed
  void clear();                                 // auth was disabled
  size_t size() const { return tokens_.size(); }

 private:
  struct entry {
    std::string user;
    int64_t expires_ms;
  };
  void make_room(int64_t now_ms);

  int64_t ttl_ms_;
  std::unordered_map<std::string, entry> tokens_;
};

// The 16-letter random prefix a proposer picks (etcd: GenTokenPrefix).
std::string simple_token_prefix();

}  // namespace ringkv::server::auth
