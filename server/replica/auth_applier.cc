// server/replica/auth_applier.cc — kv_applier's auth part: applies the Auth entries to the auth store and
// checks entries proposed by an authenticated user (as_user) against the store at their place in the
// log, as etcd 3.4's authApplierV3 does: admin (root) for the Auth changes, key permissions for Put,
// DeleteRange, Txn (compares and every branch) and LeaseRevoke (every key attached to the lease).
#include "server/replica/kv_applier.h"

#include "server/auth/request_checks.h"
#include "server/common/unary_helpers.h"

namespace ringkv::server {

using auth::access;
using auth::auth_errc;
using unary::failure;
using unary::parse;
using unary::reply;

namespace {

apply_result undecodable() { return failure({grpc_code::internal, "ringkv: undecodable raft entry"}); }

constexpr size_t token_prefix_bytes = 16;  // simple_token_prefix()

// Parses the entry's message as a Request and applies it with `apply`.
template <typename Request, typename Apply>
apply_result parsed(std::string_view message, Apply apply) {
  Request request;
  if (!parse(request, message)) return undecodable();
  return apply(request);
}

}  // namespace

apply_result kv_applier::auth_reply(auth_errc error) {
  if (error != auth_errc::ok) return failure(auth::to_status(error));
  etcdserverpb::AuthEnableResponse response;  // every Auth change answers a header alone (field 1)
  fill_header(response.mutable_header(), ids(), store_.current_revision());
  return reply(response);
}

apply_result kv_applier::apply_auth(proposal_kind kind, std::string_view message, std::string_view user,
                                    raft::Index index) {
  if (kind == proposal_kind::authenticate) return apply_authenticate(message, index);
  // etcd: every Auth change needs root while auth is enabled (needAdminPermission), no revision check.
  if (auth_errc admin = auth_.admin_permitted(user); admin != auth_errc::ok) return failure(auth::to_status(admin));
  switch (kind) {
    case proposal_kind::auth_enable: return auth_reply(auth_.enable());
    case proposal_kind::auth_disable:
      auth_.disable();
      tokens_.clear();
      return auth_reply(auth_errc::ok);
    case proposal_kind::user_add:
      return parsed<etcdserverpb::AuthUserAddRequest>(message, [&](const auto& r) {
        return auth_reply(auth_.user_add(r.name(), r.password(), r.options().no_password()));
      });
    case proposal_kind::user_delete:
      return parsed<etcdserverpb::AuthUserDeleteRequest>(message, [&](const auto& r) {
        auth_errc error = auth_.user_delete(r.name());
        if (error == auth_errc::ok) tokens_.invalidate_user(r.name());
        return auth_reply(error);
      });
    case proposal_kind::user_change_password:
      return parsed<etcdserverpb::AuthUserChangePasswordRequest>(message, [&](const auto& r) {
        auth_errc error = auth_.user_change_password(r.name(), r.password());
        if (error == auth_errc::ok) tokens_.invalidate_user(r.name());
        return auth_reply(error);
      });
    case proposal_kind::user_grant_role:
      return parsed<etcdserverpb::AuthUserGrantRoleRequest>(
          message, [&](const auto& r) { return auth_reply(auth_.user_grant_role(r.user(), r.role())); });
    case proposal_kind::user_revoke_role:
      return parsed<etcdserverpb::AuthUserRevokeRoleRequest>(
          message, [&](const auto& r) { return auth_reply(auth_.user_revoke_role(r.name(), r.role())); });
    case proposal_kind::role_add:
      return parsed<etcdserverpb::AuthRoleAddRequest>(message,
                                                      [&](const auto& r) { return auth_reply(auth_.role_add(r.name())); });
    case proposal_kind::role_delete:
      return parsed<etcdserverpb::AuthRoleDeleteRequest>(
          message, [&](const auto& r) { return auth_reply(auth_.role_delete(r.role())); });
    case proposal_kind::role_grant_permission:
      return parsed<etcdserverpb::AuthRoleGrantPermissionRequest>(
          message, [&](const auto& r) { return auth_reply(auth_.role_grant_permission(r.name(), r.perm())); });
    case proposal_kind::role_revoke_permission:
      return parsed<etcdserverpb::AuthRoleRevokePermissionRequest>(message, [&](const auto& r) {
        return auth_reply(auth_.role_revoke_permission(r.role(), r.key(), r.range_end()));
      });
    default: return undecodable();
  }
}

// The proposer verified the password against the hash it names; the token is granted only if that is
// still the user's hash here (a password changed in between refuses it, as etcd's retry would).
apply_result kv_applier::apply_authenticate(std::string_view message, raft::Index index) {
  etcdserverpb::AuthenticateRequest request;
  if (!parse(request, message) || request.password().size() < token_prefix_bytes) return undecodable();
  if (!auth_.enabled()) return failure(auth::to_status(auth_errc::auth_not_enabled));
  const authpb::User* user = auth_.find_user(request.name());
  std::string_view verified_hash = std::string_view(request.password()).substr(token_prefix_bytes);
  if (user == nullptr || user->options().no_password() || user->password() != verified_hash)
    return failure(auth::to_status(auth_errc::auth_failed));
  etcdserverpb::AuthenticateResponse response;
  std::string token = std::to_string(auth_.revision());  // JWT: the proposer signs at this revision
  if (!signed_tokens_) {
    token = request.password().substr(0, token_prefix_bytes) + "." + std::to_string(index);
    tokens_.assign(token, request.name(), lease_clock_ms());
  }
  fill_header(response.mutable_header(), ids(), store_.current_revision());
  response.set_token(std::move(token));
  return reply(response);
}

apply_result kv_applier::apply_as_user(std::string_view message, raft::Index index) {
  auto request = decode_as_user(message);
  if (!request) return undecodable();
  switch (request->kind) {
    case proposal_kind::put:
    case proposal_kind::delete_range:
    case proposal_kind::txn:
    case proposal_kind::lease_revoke:
      if (auth_errc error = kv_permitted(*request); error != auth_errc::ok) return failure(auth::to_status(error));
      return apply_kv(request->kind, request->message);
    default: return apply_auth(request->kind, request->message, request->user, index);
  }
}

// Clients' writes proposed with no user: while auth is enabled the gate refuses those, so one applied now
// was proposed before `auth enable`. etcd's authApplierV3 checks it with the entry header's empty
// AuthInfo ("user name is empty" for whatever it touches); so does this, at the same place in the log.
apply_result kv_applier::apply_without_user(proposal_kind kind, std::string_view message) {
  if (auth_.enabled())
    if (auth_errc error = kv_permitted({{}, 0, kind, message}); error != auth_errc::ok)
      return failure(auth::to_status(error));
  return apply_kv(kind, message);
}

apply_result kv_applier::apply_kv(proposal_kind kind, std::string_view message) {
  switch (kind) {
    case proposal_kind::put: return apply_put(message);
    case proposal_kind::delete_range: return apply_delete_range(message);
    case proposal_kind::txn: return apply_txn(message);
    case proposal_kind::lease_revoke: return apply_lease_revoke(message);
    default: return undecodable();
  }
}

auth_errc kv_applier::lease_keys_writable(std::string_view user, uint64_t revision, int64_t lease_id) const {
  if (lease_id == 0 || !auth_.enabled()) return auth_errc::ok;
  auto lease = store_.lease_time_to_live(lease_id, lease_clock_ms(), true);
  if (!lease.ok()) return auth_errc::ok;  // unknown lease: the request fails on its own
  for (const auto& key : lease->keys)
    if (auth_errc e = auth_.op_permitted(user, revision, key, {}, access::write); e != auth_errc::ok) return e;
  return auth_errc::ok;
}

auth_errc kv_applier::kv_permitted(const as_user_payload& request) const {
  auth::caller who{std::string(request.user), request.auth_revision};
  switch (request.kind) {
    case proposal_kind::put: {
      etcdserverpb::PutRequest put;
      if (!parse(put, request.message)) return auth_errc::ok;  // undecodable: apply_put reports it
      // etcd's order: the key, the keys already on the lease, then prev_kv's read.
      auth_errc e = auth_.op_permitted(who.user, who.auth_revision, put.key(), {}, access::write);
      if (e == auth_errc::ok) e = lease_keys_writable(who.user, who.auth_revision, put.lease());
      return e == auth_errc::ok ? auth::put_permitted(auth_, who, put) : e;
    }
    case proposal_kind::delete_range: {
      etcdserverpb::DeleteRangeRequest del;
      if (!parse(del, request.message)) return auth_errc::ok;
      return auth::delete_permitted(auth_, who, del);
    }
    case proposal_kind::txn: {
      etcdserverpb::TxnRequest txn;
      if (!parse(txn, request.message)) return auth_errc::ok;
      return auth::txn_permitted(auth_, who, txn);
    }
    case proposal_kind::lease_revoke: {
      etcdserverpb::LeaseRevokeRequest revoke;
      if (!parse(revoke, request.message)) return auth_errc::ok;
      return lease_keys_writable(who.user, who.auth_revision, revoke.id());
    }
    default: return auth_errc::ok;
  }
}

}  // namespace ringkv::server
