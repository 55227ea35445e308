// server/auth/auth_errors.cc — see auth_errors.h; texts from etcd 3.4's auth/store.go and rpctypes.
#include "server/auth/auth_errors.h"

namespace ringkv::server::auth {
namespace {

struct error_text {
  grpc_code code;
  const char* grpc_message;  // rpctypes: "etcdserver: " + this
  const char* raw_message;   // auth package: "auth: " + this
};

error_text text_of(auth_errc error) {
  using c = grpc_code;
  switch (error) {
    case auth_errc::ok: break;
    case auth_errc::root_user_not_exist: return {c::failed_precondition, "root user does not exist", "root user does not exist"};
    case auth_errc::root_role_not_exist: return {c::failed_precondition, "root user does not have root role", "root user does not have root role"};
    case auth_errc::user_already_exist: return {c::failed_precondition, "user name already exists", "user already exists"};
    case auth_errc::user_empty: return {c::invalid_argument, "user name is empty", "user name is empty"};
    case auth_errc::user_not_found: return {c::failed_precondition, "user name not found", "user not found"};
    case auth_errc::role_already_exist: return {c::failed_precondition, "role name already exists", "role already exists"};
    case auth_errc::role_not_found: return {c::failed_precondition, "role name not found", "role not found"};
    case auth_errc::role_empty: return {c::invalid_argument, "role name is empty", "role name is empty"};
    case auth_errc::auth_failed:
      return {c::invalid_argument, "authentication failed, invalid user ID or password",
              "authentication failed, invalid user ID or password"};
    case auth_errc::permission_denied: return {c::permission_denied, "permission denied", "permission denied"};
    case auth_errc::role_not_granted: return {c::failed_precondition, "role is not granted to the user", "role is not granted to the user"};
    case auth_errc::permission_not_granted:
      return {c::failed_precondition, "permission is not granted to the role", "permission is not granted to the role"};
    case auth_errc::auth_not_enabled: return {c::failed_precondition, "authentication is not enabled", "authentication is not enabled"};
    case auth_errc::auth_old_revision: return {c::invalid_argument, "revision of auth store is old", "revision in header is old"};
    case auth_errc::invalid_auth_token: return {c::unauthenticated, "invalid auth token", "invalid auth token"};
    case auth_errc::invalid_auth_mgmt: return {c::failed_precondition, "invalid auth management", "invalid auth management"};
  }
  return {c::ok, "", ""};
}

}  // namespace

rpc_status to_status(auth_errc error) {
  if (error == auth_errc::ok) return {};
  error_text text = text_of(error);
  return {text.code, std::string("etcdserver: ") + text.grpc_message};
}

rpc_status to_recipe_status(auth_errc error) {
  rpc_status status = to_status(error);
  if (!status.ok()) status.code = grpc_code::unknown;
  return status;
}

rpc_status as_recipe_status(rpc_status status) {
  for (auth_errc error : {auth_errc::permission_denied, auth_errc::user_empty, auth_errc::auth_old_revision,
                          auth_errc::invalid_auth_token})
    if (status == to_status(error)) return to_recipe_status(error);
  return status;
}

rpc_status to_raw_status(auth_errc error) {
  if (error == auth_errc::ok) return {};
  return {grpc_code::unknown, std::string("auth: ") + text_of(error).raw_message};
}

}  // namespace ringkv::server::auth
