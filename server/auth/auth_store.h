// server/auth/auth_store.h — the replicated auth state of etcd 3.4: users (bcrypt hash, roles, the
// no-password option), roles (key-range permissions), the enabled flag and the auth revision. Changed only
// by entries applied from the raft log (server/replica), so every member holds the same store; saved in
// the member's snapshots (encode/decode). Pure: no I/O, no clock, no hashing (hashes arrive computed).
//
// auth_revision: starts at 1 and grows by one with every change that takes effect (etcd's
// commitRevision), except auth enable, which etcd 3.4 does not count; a request checked against a revision older than the store's is refused
// (auth_old_revision), so a write proposed before a permission change is judged again by the caller.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "etcd/auth.pb.h"
#include "server/auth/auth_errors.h"
#include "server/auth/key_permission.h"

namespace ringkv::server::auth {

inline constexpr std::string_view root_user = "root";
inline constexpr std::string_view root_role = "root";

class auth_store {
 public:
  bool enabled() const { return enabled_; }
  uint64_t revision() const { return revision_; }

  // ---- changes (from applied entries); each returns etcd's error, ok when it took effect ----
  auth_errc enable();   // needs user root with role root; ok (no change) when already enabled
  void disable();       // no change when already disabled
  // `password_hash` is a bcrypt hash ("$2b$..."), empty for a no-password user.
  auth_errc user_add(std::string_view name, std::string_view password_hash, bool no_password);
  auth_errc user_delete(std::string_view name);
  auth_errc user_change_password(std::string_view name, std::string_view password_hash);
  auth_errc user_grant_role(std::string_view user, std::string_view role);  // granted again: ok, no change
  auth_errc user_revoke_role(std::string_view user, std::string_view role);
  auth_errc role_add(std::string_view name);
  auth_errc role_delete(std::string_view name);  // also revoked from every user holding it
  auth_errc role_grant_permission(std::string_view role, const authpb::Permission& permission);
  auth_errc role_revoke_permission(std::string_view role, std::string_view key, std::string_view range_end);

  // ---- reads ----
  const authpb::User* find_user(std::string_view name) const;
  const authpb::Role* find_role(std::string_view name) const;
  std::vector<std::string> user_names() const;  // sorted
  std::vector<std::string> role_names() const;  // sorted
  bool has_role(std::string_view user, std::string_view role) const;

  // ---- checks (etcd's IsAdminPermitted / isOpPermitted); ok while auth is disabled ----
  // `user` empty: no user (user_empty); unknown: user_not_found; not root: permission_denied.
  auth_errc admin_permitted(std::string_view user) const;
  // `checked_revision` is the auth revision the caller's identity was established at (0: no user).
  auth_errc op_permitted(std::string_view user, uint64_t checked_revision, std::string_view key,
                         std::string_view range_end, access need) const;

  // Snapshot section (little endian): [u8 enabled][u64 revision][u64 users]{[u64 len][authpb.User]}...
  //                                    [u64 roles]{[u64 len][authpb.Role]}...
  void encode(std::string& out) const;
  static std::optional<auth_store> decode(std::string_view bytes);  // nullopt: does not decode

  // etcd's backend form (the authUsers / authRoles buckets of its snapshot files): name -> authpb.User /
  // authpb.Role bytes, in name order.
  using named_records = std::vector<std::pair<std::string, std::string>>;
  named_records user_records() const;
  named_records role_records() const;
  // The store an etcd snapshot describes. Users' roles and roles' permissions are put in the store's
  // order (etcd keeps the same order). nullopt, with `problem` saying which record, when a record does
  // not parse, names another user/role than its key, or appears twice; a revision of 0 is taken as 1.
  static std::optional<auth_store> from_records(bool enabled, uint64_t revision, const named_records& users,
                                                const named_records& roles, std::string& problem);

 private:
  void commit() { ++revision_; }

  bool enabled_ = false;
  uint64_t revision_ = 1;  // etcd's initial auth revision
  std::map<std::string, authpb::User, std::less<>> users_;  // by name; User.roles kept sorted
  std::map<std::string, authpb::Role, std::less<>> roles_;  // by name; keyPermission sorted by key
};

}  // namespace ringkv::server::auth
