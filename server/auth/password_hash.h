// server/auth/password_hash.h — bcrypt through libxcrypt's crypt_r: hashes as "$2b$<cost>$..." and
// verifies any bcrypt variant ($2a$ from etcd's Go bcrypt, $2b$, $2y$). Both are slow by design (cost
// 10 is tens of ms): call them off the raft shard (password_worker.h). Passwords are never logged.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ringkv::server::auth {

inline constexpr int bcrypt_cost_min = 4;   // Go bcrypt's MinCost
inline constexpr int bcrypt_cost_max = 31;  // Go bcrypt's MaxCost
inline constexpr int bcrypt_cost_default = 10;

// nullopt when libxcrypt refuses (cost out of range, no randomness).
std::optional<std::string> bcrypt_hash(std::string_view password, int cost);
// False for a wrong password and for a hash that is not bcrypt (e.g. empty: a no-password user).
bool bcrypt_verify(std::string_view password, std::string_view hash);

}  // namespace ringkv::server::auth
