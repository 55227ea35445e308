// server/api/auth_gate.cc — see auth_gate.h.
#include "server/api/auth_gate.h"

#include <chrono>
#include <string>
#include <unordered_map>

#include "server/common/unary_helpers.h"

namespace ringkv::server {
namespace {

enum class check { nothing, token_only, recipe_token, range, put, delete_range, txn, root, root_raw };

check check_for(std::string_view method) {
  static const std::unordered_map<std::string_view, check> checks = {
      {"/etcdserverpb.KV/Range", check::range},
      {"/etcdserverpb.KV/Put", check::put},
      {"/etcdserverpb.KV/DeleteRange", check::delete_range},
      {"/etcdserverpb.KV/Txn", check::txn},
      {"/etcdserverpb.KV/Compact", check::token_only},
      {"/etcdserverpb.Lease/LeaseGrant", check::token_only},
      {"/etcdserverpb.Lease/LeaseRevoke", check::token_only},
      {"/etcdserverpb.Maintenance/Alarm", check::token_only},
      {"/etcdserverpb.Maintenance/Defragment", check::root_raw},
      {"/etcdserverpb.Maintenance/Hash", check::root_raw},
      {"/etcdserverpb.Maintenance/HashKV", check::root_raw},
      {"/etcdserverpb.Maintenance/Snapshot", check::root_raw},
      {"/etcdserverpb.Cluster/MemberAdd", check::root},
      {"/etcdserverpb.Cluster/MemberRemove", check::root},
      {"/etcdserverpb.Cluster/MemberUpdate", check::root},
      {"/etcdserverpb.Cluster/MemberPromote", check::root},
      // The recipes check their keys themselves (recipes.h), as the caller.
      {"/v3lockpb.Lock/Lock", check::recipe_token},
      {"/v3lockpb.Lock/Unlock", check::recipe_token},
      {"/v3electionpb.Election/Campaign", check::recipe_token},
      {"/v3electionpb.Election/Proclaim", check::recipe_token},
      {"/v3electionpb.Election/Leader", check::recipe_token},
      {"/v3electionpb.Election/Resign", check::recipe_token},
  };
  auto it = checks.find(method);
  if (it != checks.end()) return it->second;
  constexpr std::string_view auth_prefix = "/etcdserverpb.Auth/";
  if (method.starts_with(auth_prefix) && method != "/etcdserverpb.Auth/Authenticate") return check::token_only;
  return check::nothing;
}

int64_t unix_seconds_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

template <typename Request, typename Check>
auth::auth_errc parsed_check(std::string_view bytes, Check checker) {
  Request request;
  if (!unary::parse(request, bytes)) return auth::auth_errc::ok;  // the method answers it malformed
  return checker(request);
}

}  // namespace

rpc_status auth_gate::identify(std::string_view token, std::string_view cert_cn, auth::caller& who) const {
  if (token.empty()) {
    if (member_.config().client_tls.client_cert_auth && !cert_cn.empty())
      who = {std::string(cert_cn), member_.applier().auth().revision()};
    return {};
  }
  if (jwt_ != nullptr) {  // the revision is the token's: an auth change since makes it old, as in etcd
    auto signed_by_us = jwt_->verify(token, unix_seconds_now());
    if (!signed_by_us) return auth::to_status(auth::auth_errc::invalid_auth_token);
    who = {std::move(signed_by_us->user), signed_by_us->auth_revision};
    return {};
  }
  auto user = member_.applier().tokens().user_of(token, lease_clock_ms());
  if (!user) return auth::to_status(auth::auth_errc::invalid_auth_token);
  who = {std::move(*user), member_.applier().auth().revision()};
  return {};
}

rpc_status auth_gate::authenticate(const call_info& call, auth::caller& who) const {
  check needed = check_for(call.method);
  if (needed == check::nothing) return {};
  if (rpc_status status = identify(call.token, call.client_cert_cn, who); !status.ok())
    return needed == check::recipe_token ? auth::as_recipe_status(std::move(status)) : status;
  const auth::auth_store& store = member_.applier().auth();
  if (!store.enabled()) return {};
  auth::auth_errc error = auth::auth_errc::ok;
  switch (needed) {
    case check::nothing:
    case check::token_only:
    case check::recipe_token: break;
    case check::range:
      error = parsed_check<etcdserverpb::RangeRequest>(call.request, [&](const auto& r) { return auth::range_permitted(store, who, r); });
      break;
    case check::put:
      error = parsed_check<etcdserverpb::PutRequest>(call.request, [&](const auto& r) { return auth::put_permitted(store, who, r); });
      break;
    case check::delete_range:
      error = parsed_check<etcdserverpb::DeleteRangeRequest>(call.request, [&](const auto& r) { return auth::delete_permitted(store, who, r); });
      break;
    case check::txn:
      error = parsed_check<etcdserverpb::TxnRequest>(call.request, [&](const auto& r) { return auth::txn_permitted(store, who, r); });
      break;
    case check::root: error = store.admin_permitted(who.user); break;
    case check::root_raw: return auth::to_raw_status(store.admin_permitted(who.user));
  }
  return auth::to_status(error);
}

bool auth_gate::watch_permitted(std::string_view token, std::string_view cert_cn,
                                const etcdserverpb::WatchCreateRequest& create) const {
  const auth::auth_store& store = member_.applier().auth();
  if (!store.enabled()) return true;
  auth::caller who;
  if (!identify(token, cert_cn, who).ok()) return false;
  std::string key = create.key().empty() ? std::string(1, '\0') : create.key();  // as etcd: "\0" is the smallest key
  return store.op_permitted(who.user, who.auth_revision, key, create.range_end(), auth::access::read) ==
         auth::auth_errc::ok;
}

}  // namespace ringkv::server
