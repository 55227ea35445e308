// server/auth/auth_store.cc — see auth_store.h. Rules and error precedence follow etcd 3.4's
// auth/store.go.
#include "server/auth/auth_store.h"

#include <algorithm>
#include <cassert>

namespace ringkv::server::auth {
namespace {

void put_u64(std::string& out, uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(char(value >> (8 * i)));
}

// Reads a little-endian u64 at `at` and advances it; false when the bytes end first.
bool get_u64(std::string_view in, size_t& at, uint64_t& value) {
  if (at > in.size() || in.size() - at < 8) return false;
  value = 0;
  for (int i = 0; i < 8; ++i) value |= uint64_t(uint8_t(in[at + i])) << (8 * i);
  at += 8;
  return true;
}

template <typename Message>
bool get_message(std::string_view in, size_t& at, Message& message) {
  uint64_t length = 0;
  if (!get_u64(in, at, length) || length > in.size() - at) return false;
  if (!message.ParseFromArray(in.data() + at, int(length))) return false;
  at += length;
  return true;
}

// A role's permissions are kept in key order (etcd's order too); equal keys keep their grant order.
void sort_permissions(authpb::Role& role) {
  std::stable_sort(role.mutable_keypermission()->begin(), role.mutable_keypermission()->end(),
                   [](const authpb::Permission& a, const authpb::Permission& b) { return a.key() < b.key(); });
}

bool user_has_role(const authpb::User& user, std::string_view role) {
  return std::binary_search(user.roles().begin(), user.roles().end(), role);
}

}  // namespace

auth_errc auth_store::enable() {
  if (enabled_) return auth_errc::ok;
  const authpb::User* root = find_user(root_user);
  if (root == nullptr) return auth_errc::root_user_not_exist;
  if (!user_has_role(*root, root_role)) return auth_errc::root_role_not_exist;
  enabled_ = true;  // etcd 3.4's AuthEnable keeps the revision (only AuthDisable commits one)
  return auth_errc::ok;
}

void auth_store::disable() {
  if (!enabled_) return;
  enabled_ = false;
  commit();
}

auth_errc auth_store::user_add(std::string_view name, std::string_view password_hash, bool no_password) {
  if (name.empty()) return auth_errc::user_empty;
  if (users_.contains(name)) return auth_errc::user_already_exist;
  authpb::User user;
  user.set_name(std::string(name));
  user.set_password(std::string(password_hash));
  if (no_password) user.mutable_options()->set_no_password(true);
  users_.emplace(std::string(name), std::move(user));
  commit();
  return auth_errc::ok;
}

auth_errc auth_store::user_delete(std::string_view name) {
  if (enabled_ && name == root_user) return auth_errc::invalid_auth_mgmt;
  auto it = users_.find(name);
  if (it == users_.end()) return auth_errc::user_not_found;
  users_.erase(it);
  commit();
  return auth_errc::ok;
}

auth_errc auth_store::user_change_password(std::string_view name, std::string_view password_hash) {
  auto it = users_.find(name);
  if (it == users_.end()) return auth_errc::user_not_found;
  it->second.set_password(std::string(password_hash));
  commit();
  return auth_errc::ok;
}

auth_errc auth_store::user_grant_role(std::string_view user, std::string_view role) {
  auto it = users_.find(user);
  if (it == users_.end()) return auth_errc::user_not_found;
  if (role != root_role && !roles_.contains(role)) return auth_errc::role_not_found;  // root needs no role record
  auto* roles = it->second.mutable_roles();
  auto at = std::lower_bound(roles->begin(), roles->end(), role);
  if (at != roles->end() && *at == role) return auth_errc::ok;  // already granted: no change
  roles->Add(std::string(role));
  std::sort(roles->begin(), roles->end());
  commit();
  return auth_errc::ok;
}

auth_errc auth_store::user_revoke_role(std::string_view user, std::string_view role) {
  if (enabled_ && user == root_user && role == root_role) return auth_errc::invalid_auth_mgmt;
  auto it = users_.find(user);
  if (it == users_.end()) return auth_errc::user_not_found;
  auto* roles = it->second.mutable_roles();
  auto at = std::find(roles->begin(), roles->end(), role);
  if (at == roles->end()) return auth_errc::role_not_granted;
  roles->erase(at);
  commit();
  return auth_errc::ok;
}

auth_errc auth_store::role_add(std::string_view name) {
  if (name.empty()) return auth_errc::role_empty;
  if (roles_.contains(name)) return auth_errc::role_already_exist;
  authpb::Role role;
  role.set_name(std::string(name));
  roles_.emplace(std::string(name), std::move(role));
  commit();
  return auth_errc::ok;
}

auth_errc auth_store::role_delete(std::string_view name) {
  if (enabled_ && name == root_role) return auth_errc::invalid_auth_mgmt;
  auto it = roles_.find(name);
  if (it == roles_.end()) return auth_errc::role_not_found;
  roles_.erase(it);
  for (auto& [user_name, user] : users_) {
    auto* roles = user.mutable_roles();
    auto at = std::find(roles->begin(), roles->end(), name);
    if (at != roles->end()) roles->erase(at);
  }
  commit();
  return auth_errc::ok;
}

auth_errc auth_store::role_grant_permission(std::string_view role, const authpb::Permission& permission) {
  auto it = roles_.find(role);
  if (it == roles_.end()) return auth_errc::role_not_found;
  auto* permissions = it->second.mutable_keypermission();
  for (auto& existing : *permissions) {
    if (existing.key() == permission.key() && existing.range_end() == permission.range_end()) {
      existing.set_permtype(permission.permtype());  // the same range again: its type is replaced
      commit();
      return auth_errc::ok;
    }
  }
  *permissions->Add() = permission;
  sort_permissions(it->second);
  commit();
  return auth_errc::ok;
}

auth_errc auth_store::role_revoke_permission(std::string_view role, std::string_view key, std::string_view range_end) {
  auto it = roles_.find(role);
  if (it == roles_.end()) return auth_errc::role_not_found;
  auto* permissions = it->second.mutable_keypermission();
  for (int i = 0; i < permissions->size(); ++i) {
    if (permissions->Get(i).key() == key && permissions->Get(i).range_end() == range_end) {
      permissions->DeleteSubrange(i, 1);
      commit();
      return auth_errc::ok;
    }
  }
  return auth_errc::permission_not_granted;
}

const authpb::User* auth_store::find_user(std::string_view name) const {
  auto it = users_.find(name);
  return it == users_.end() ? nullptr : &it->second;
}

const authpb::Role* auth_store::find_role(std::string_view name) const {
  auto it = roles_.find(name);
  return it == roles_.end() ? nullptr : &it->second;
}

std::vector<std::string> auth_store::user_names() const {
  std::vector<std::string> names;
  for (const auto& [name, user] : users_) names.push_back(name);
  return names;
}

std::vector<std::string> auth_store::role_names() const {
  std::vector<std::string> names;
  for (const auto& [name, role] : roles_) names.push_back(name);
  return names;
}

bool auth_store::has_role(std::string_view user, std::string_view role) const {
  const authpb::User* found = find_user(user);
  return found != nullptr && user_has_role(*found, role);
}

auth_errc auth_store::admin_permitted(std::string_view user) const {
  if (!enabled_) return auth_errc::ok;
  if (user.empty()) return auth_errc::user_empty;
  const authpb::User* found = find_user(user);
  if (found == nullptr) return auth_errc::user_not_found;
  return user_has_role(*found, root_role) ? auth_errc::ok : auth_errc::permission_denied;
}

auth_errc auth_store::op_permitted(std::string_view user, uint64_t checked_revision, std::string_view key,
                                   std::string_view range_end, access need) const {
  if (!enabled_) return auth_errc::ok;
  if (checked_revision == 0 || user.empty()) return auth_errc::user_empty;
  if (checked_revision < revision_) return auth_errc::auth_old_revision;
  const authpb::User* found = find_user(user);
  if (found == nullptr) return auth_errc::permission_denied;
  if (user_has_role(*found, root_role)) return auth_errc::ok;
  std::vector<const authpb::Permission*> permissions;
  for (const std::string& role_name : found->roles())
    if (const authpb::Role* role = find_role(role_name))
      for (const authpb::Permission& permission : role->keypermission()) permissions.push_back(&permission);
  return range_permitted(permissions, key, range_end, need) ? auth_errc::ok : auth_errc::permission_denied;
}

void auth_store::encode(std::string& out) const {
  out.push_back(enabled_ ? 1 : 0);
  put_u64(out, revision_);
  put_u64(out, users_.size());
  for (const auto& [name, user] : users_) {
    std::string bytes = user.SerializeAsString();
    put_u64(out, bytes.size());
    out += bytes;
  }
  put_u64(out, roles_.size());
  for (const auto& [name, role] : roles_) {
    std::string bytes = role.SerializeAsString();
    put_u64(out, bytes.size());
    out += bytes;
  }
}

std::optional<auth_store> auth_store::decode(std::string_view bytes) {
  auth_store store;
  if (bytes.empty() || uint8_t(bytes[0]) > 1) return std::nullopt;
  store.enabled_ = bytes[0] == 1;
  size_t at = 1;
  uint64_t count = 0;
  if (!get_u64(bytes, at, store.revision_) || store.revision_ == 0 || !get_u64(bytes, at, count)) return std::nullopt;
  for (uint64_t i = 0; i < count; ++i) {
    authpb::User user;
    if (!get_message(bytes, at, user) || user.name().empty()) return std::nullopt;
    std::string name = user.name();
    store.users_.emplace(std::move(name), std::move(user));
  }
  if (!get_u64(bytes, at, count)) return std::nullopt;
  for (uint64_t i = 0; i < count; ++i) {
    authpb::Role role;
    if (!get_message(bytes, at, role) || role.name().empty()) return std::nullopt;
    std::string name = role.name();
    store.roles_.emplace(std::move(name), std::move(role));
  }
  if (at != bytes.size()) return std::nullopt;
  return store;
}

namespace {

template <typename Message>
auth_store::named_records records_of(const std::map<std::string, Message, std::less<>>& by_name) {
  auth_store::named_records out;
  out.reserve(by_name.size());
  for (const auto& [name, message] : by_name) out.emplace_back(name, message.SerializeAsString());
  return out;
}

// Parses each record into `into`; false with `problem` set on the first bad one.
template <typename Message>
bool parse_records(std::string_view what, const auth_store::named_records& records,
                   std::map<std::string, Message, std::less<>>& into, std::string& problem) {
  for (const auto& [name, bytes] : records) {
    Message message;
    if (name.empty() || !message.ParseFromString(bytes) || message.name() != name) {
      problem = std::string(what) + " record '" + name + "' does not parse or names another " + std::string(what);
      return false;
    }
    if (!into.emplace(name, std::move(message)).second) {
      problem = std::string(what) + " '" + name + "' appears twice";
      return false;
    }
  }
  return true;
}

}  // namespace

auth_store::named_records auth_store::user_records() const { return records_of(users_); }
auth_store::named_records auth_store::role_records() const { return records_of(roles_); }

std::optional<auth_store> auth_store::from_records(bool enabled, uint64_t revision, const named_records& users,
                                                   const named_records& roles, std::string& problem) {
  auth_store store;
  if (!parse_records("user", users, store.users_, problem) || !parse_records("role", roles, store.roles_, problem))
    return std::nullopt;
  for (auto& [name, user] : store.users_) std::sort(user.mutable_roles()->begin(), user.mutable_roles()->end());
  for (auto& [name, role] : store.roles_) sort_permissions(role);
  store.enabled_ = enabled;
  store.revision_ = revision == 0 ? 1 : revision;
  return store;
}

}  // namespace ringkv::server::auth
