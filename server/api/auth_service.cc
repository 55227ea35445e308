// server/api/auth_service.cc — see auth_service.h.
#include "server/api/auth_service.h"

#include <charconv>
#include <chrono>

#include "server/api/service_support.h"
#include "server/auth/simple_tokens.h"

namespace ringkv::server {

using namespace unary;
using auth::auth_errc;

namespace {

bool parse_u64(const std::string& text, uint64_t& value) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size();
}

// UserList and RoleList: root only (etcd's needAdminPermission), after a ReadIndex; `fill` writes the
// names into the response.
template <typename Response, typename Fill>
runtime::task<unary_outcome> root_only_list(replica& member, auth::caller who, Fill fill) {
  rpc_status barrier = co_await member.driver().read_barrier();
  if (!barrier.ok()) co_return failure(barrier);
  const auth::auth_store& store = member.applier().auth();
  if (auth_errc admin = store.admin_permitted(who.user); admin != auth_errc::ok) co_return failure(auth::to_status(admin));
  Response response;
  fill(store, response);
  co_return stamped_reply(member, response);
}

}  // namespace

void auth_service::register_methods(request_pipeline& pipeline, net::grpc::service_registry& registry) {
  service_methods methods(pipeline, registry, *this, "/etcdserverpb.Auth/");
  methods.unary("AuthEnable", propose_as<etcdserverpb::AuthEnableRequest>{member_, proposal_kind::auth_enable});
  methods.unary("AuthDisable", propose_as<etcdserverpb::AuthDisableRequest>{member_, proposal_kind::auth_disable});
  methods.unary("Authenticate", &auth_service::authenticate);
  methods.unary("UserAdd", &auth_service::user_add);
  methods.unary("UserGet", &auth_service::user_get);
  methods.unary("UserList", &auth_service::user_list);
  methods.unary("UserDelete", propose_as<etcdserverpb::AuthUserDeleteRequest>{member_, proposal_kind::user_delete});
  methods.unary("UserChangePassword", &auth_service::user_change_password);
  methods.unary("UserGrantRole",
                propose_as<etcdserverpb::AuthUserGrantRoleRequest>{member_, proposal_kind::user_grant_role});
  methods.unary("UserRevokeRole",
                propose_as<etcdserverpb::AuthUserRevokeRoleRequest>{member_, proposal_kind::user_revoke_role});
  methods.unary("RoleAdd", propose_as<etcdserverpb::AuthRoleAddRequest>{member_, proposal_kind::role_add});
  methods.unary("RoleGet", &auth_service::role_get);
  methods.unary("RoleList", &auth_service::role_list);
  methods.unary("RoleDelete", propose_as<etcdserverpb::AuthRoleDeleteRequest>{member_, proposal_kind::role_delete});
  methods.unary("RoleGrantPermission", propose_as<etcdserverpb::AuthRoleGrantPermissionRequest>{
                                           member_, proposal_kind::role_grant_permission});
  methods.unary("RoleRevokePermission", propose_as<etcdserverpb::AuthRoleRevokePermissionRequest>{
                                            member_, proposal_kind::role_revoke_permission});
}

runtime::task<unary_outcome> auth_service::authenticate(const etcdserverpb::AuthenticateRequest& request) {
  rpc_status barrier = co_await member_.driver().read_barrier();
  if (!barrier.ok()) co_return failure(barrier);
  const auth::auth_store& store = member_.applier().auth();
  if (!store.enabled()) co_return failure(auth::to_status(auth_errc::auth_not_enabled));
  const authpb::User* user = store.find_user(request.name());
  if (user == nullptr || user->options().no_password())
    co_return failure(auth::to_status(auth_errc::auth_failed));
  std::string hash = user->password();  // a copy: the store may change while bcrypt runs
  std::optional<bool> matched = co_await worker_.verify(request.password(), hash);
  if (!matched) co_return failure(etcd_errors::too_many_requests());
  if (!*matched) co_return failure(auth::to_status(auth_errc::auth_failed));
  etcdserverpb::AuthenticateRequest proposal;
  proposal.set_name(request.name());
  proposal.set_password(auth::simple_token_prefix() + hash);  // the applier grants it if the hash still holds
  unary_outcome granted = co_await member_.propose(proposal_kind::authenticate, proposal.SerializeAsString());
  if (jwt_ == nullptr || !granted.status.ok()) co_return granted;
  co_return signed_token(request.name(), std::move(granted));
}

// The applier answered the auth revision the token was granted at (kv_applier::set_signed_tokens): the
// answer leaves with the JWT instead (RSA signing costs ~1 ms of this shard per Authenticate).
unary_outcome auth_service::signed_token(const std::string& user, unary_outcome granted) const {
  etcdserverpb::AuthenticateResponse response;
  uint64_t auth_revision = 0;
  if (!parse(response, granted.response) || !parse_u64(response.token(), auth_revision))
    return failure({grpc_code::internal, "ringkv: undecodable Authenticate answer"});
  if (jwt_->verify_only())  // etcd: ErrVerifyOnly, which its gRPC layer passes on unconverted
    return failure({grpc_code::unknown, "auth: token signing attempted with verify-only key"});
  auto now = std::chrono::system_clock::now().time_since_epoch();
  auto token = jwt_->sign(user, auth_revision, std::chrono::duration_cast<std::chrono::seconds>(now).count());
  if (!token) return failure({grpc_code::internal, "ringkv: signing the JWT failed"});
  response.set_token(std::move(*token));
  return reply(response);
}

runtime::task<rpc_status> auth_service::hash_for(const auth::caller& who, std::string password, bool no_password,
                                                 std::string& hash) {
  // etcd hashes, then its applier refuses a non-root caller: refusing first spends no bcrypt on it.
  if (auth_errc admin = member_.applier().auth().admin_permitted(who.user); admin != auth_errc::ok)
    co_return auth::to_status(admin);
  if (no_password) co_return rpc_status{};
  std::optional<std::string> hashed = co_await worker_.hash(std::move(password), member_.config().bcrypt_cost);
  if (!hashed) co_return etcd_errors::too_many_requests();
  hash = std::move(*hashed);
  co_return rpc_status{};
}

runtime::task<unary_outcome> auth_service::user_add(const etcdserverpb::AuthUserAddRequest& request,
                                                    std::string /*bytes*/, auth::caller who) {
  std::string hash;
  rpc_status hashed = co_await hash_for(who, request.password(), request.options().no_password(), hash);
  if (!hashed.ok()) co_return failure(hashed);
  etcdserverpb::AuthUserAddRequest proposal = request;
  proposal.set_password(std::move(hash));
  co_return co_await propose_for(member_, who, proposal_kind::user_add, proposal.SerializeAsString());
}

runtime::task<unary_outcome> auth_service::user_change_password(
    const etcdserverpb::AuthUserChangePasswordRequest& request, std::string /*bytes*/, auth::caller who) {
  std::string hash;
  rpc_status hashed = co_await hash_for(who, request.password(), false, hash);
  if (!hashed.ok()) co_return failure(hashed);
  etcdserverpb::AuthUserChangePasswordRequest proposal = request;
  proposal.set_password(std::move(hash));
  co_return co_await propose_for(member_, who, proposal_kind::user_change_password, proposal.SerializeAsString());
}

runtime::task<unary_outcome> auth_service::user_get(const etcdserverpb::AuthUserGetRequest& request,
                                                    std::string /*bytes*/, auth::caller who) {
  rpc_status barrier = co_await member_.driver().read_barrier();
  if (!barrier.ok()) co_return failure(barrier);
  const auth::auth_store& store = member_.applier().auth();
  auth_errc admin = store.admin_permitted(who.user);
  if (admin != auth_errc::ok && request.name() != who.user) co_return failure(auth::to_status(admin));
  const authpb::User* user = store.find_user(request.name());
  if (user == nullptr) co_return failure(auth::to_status(auth_errc::user_not_found));
  etcdserverpb::AuthUserGetResponse response;
  for (const std::string& role : user->roles()) response.add_roles(role);
  co_return stamped_reply(member_, response);
}

runtime::task<unary_outcome> auth_service::user_list(const etcdserverpb::AuthUserListRequest& /*request*/,
                                                     std::string /*bytes*/, auth::caller who) {
  return root_only_list<etcdserverpb::AuthUserListResponse>(
      member_, std::move(who), [](const auth::auth_store& store, etcdserverpb::AuthUserListResponse& response) {
        for (std::string& name : store.user_names()) response.add_users(std::move(name));
      });
}

runtime::task<unary_outcome> auth_service::role_get(const etcdserverpb::AuthRoleGetRequest& request,
                                                    std::string /*bytes*/, auth::caller who) {
  rpc_status barrier = co_await member_.driver().read_barrier();
  if (!barrier.ok()) co_return failure(barrier);
  const auth::auth_store& store = member_.applier().auth();
  auth_errc admin = store.admin_permitted(who.user);
  if (admin != auth_errc::ok && !store.has_role(who.user, request.role())) co_return failure(auth::to_status(admin));
  const authpb::Role* role = store.find_role(request.role());
  if (role == nullptr) co_return failure(auth::to_status(auth_errc::role_not_found));
  etcdserverpb::AuthRoleGetResponse response;
  for (const authpb::Permission& permission : role->keypermission()) *response.add_perm() = permission;
  co_return stamped_reply(member_, response);
}

runtime::task<unary_outcome> auth_service::role_list(const etcdserverpb::AuthRoleListRequest& /*request*/,
                                                     std::string /*bytes*/, auth::caller who) {
  return root_only_list<etcdserverpb::AuthRoleListResponse>(
      member_, std::move(who), [](const auth::auth_store& store, etcdserverpb::AuthRoleListResponse& response) {
        for (std::string& name : store.role_names()) response.add_roles(std::move(name));
      });
}

}  // namespace ringkv::server
