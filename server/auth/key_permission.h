// server/auth/key_permission.h — etcd's key-range permission check as a pure function: whether the
// permissions of a user's roles cover a requested key or range for reading or writing.
//
// Ranges are etcd's: range_end empty = the key alone; range_end "\0" = every key >= key; otherwise
// [key, range_end). A READWRITE permission grants both. A requested range is permitted only when the
// union of the granted ranges covers all of it (etcd 3.4's merged interval set, range_perm_cache.go).
#pragma once

#include <span>
#include <string_view>

#include "etcd/auth.pb.h"

namespace ringkv::server::auth {

enum class access : uint8_t { read, write };

// `permissions` are borrowed pointers into the roles (order does not matter).
bool range_permitted(std::span<const authpb::Permission* const> permissions, std::string_view key,
                     std::string_view range_end, access need);

}  // namespace ringkv::server::auth
