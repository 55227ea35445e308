// server/auth/auth_errors.h — the auth store's errors and the two ways etcd 3.4 reports them: as its gRPC
// errors ("etcdserver: ...", rpctypes) on the KV, Lease, Auth and Cluster services, and as the auth
// package's raw errors ("auth: ...", code Unknown) on the Maintenance admin calls, which 3.4 does not
// convert.
#pragma once

#include <cstdint>

#include "server/common/errors.h"

namespace ringkv::server::auth {

enum class auth_errc : uint8_t {
  ok,
  root_user_not_exist,     // FailedPrecondition "root user does not exist"
  root_role_not_exist,     // FailedPrecondition "root user does not have root role"
  user_already_exist,      // FailedPrecondition "user name already exists"
  user_empty,              // InvalidArgument "user name is empty"
  user_not_found,          // FailedPrecondition "user name not found"
  role_already_exist,      // FailedPrecondition "role name already exists"
  role_not_found,          // FailedPrecondition "role name not found"
  role_empty,              // InvalidArgument "role name is empty"
  auth_failed,             // InvalidArgument "authentication failed, invalid user ID or password"
  permission_denied,       // PermissionDenied "permission denied"
  role_not_granted,        // FailedPrecondition "role is not granted to the user"
  permission_not_granted,  // FailedPrecondition "permission is not granted to the role"
  auth_not_enabled,        // FailedPrecondition "authentication is not enabled"
  auth_old_revision,       // InvalidArgument "revision of auth store is old"
  invalid_auth_token,      // Unauthenticated "invalid auth token"
  invalid_auth_mgmt,       // FailedPrecondition "invalid auth management"
};

// etcd's gRPC error (rpctypes.ErrGRPC*): ok for auth_errc::ok.
rpc_status to_status(auth_errc error);
// The auth package's own error as grpc-go sends an unconverted error: Unknown "auth: ...".
rpc_status to_raw_status(auth_errc error);
// etcd 3.4's Lock and Election services run their recipes through an in-process client, which hands
// the KV errors back as plain errors: Unknown "etcdserver: ..." (the gRPC text, the code lost).
rpc_status to_recipe_status(auth_errc error);
// `status` with its code made Unknown when it is one of the auth errors above (as to_recipe_status).
rpc_status as_recipe_status(rpc_status status);

}  // namespace ringkv::server::auth
