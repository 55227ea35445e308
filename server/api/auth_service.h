// server/api/auth_service.h — etcd's Auth service (etcd 3.4): AuthEnable/Disable, Authenticate, the User*
// and Role* methods. Changes are proposed through raft (auth entries, raft_payload.h) and applied to the
// replicated auth store, where etcd checks root and answers its errors; reads (UserGet/List, RoleGet/List)
// are served from this member's store after a ReadIndex, with etcd's checks (root, or the user itself,
// or a holder of the role).
//
// bcrypt never runs on the raft shard (password_worker.h):
//   UserAdd/ChangePassword ─ root? ─> worker: hash ─> propose {name, hash} ─apply─> store
//   Authenticate ─ ReadIndex ─ user's hash ─> worker: verify ─> propose {name, token prefix + that hash}
//                   ─apply (every member)─> the hash is still the user's? token "<prefix>.<index>"
//                   (JWT: the applier answers the auth revision; this member signs the token for it)
#pragma once

#include <string>

#include "etcd/rpc.pb.h"
#include "net/grpc/service_registry.h"
#include "runtime/task.h"
#include "server/api/request_pipeline.h"
#include "server/auth/jwt_tokens.h"
#include "server/auth/password_worker.h"
#include "server/replica/replica.h"

namespace ringkv::server {

class auth_service {
 public:
  // `jwt`: the member's JWT keys with --auth-token jwt (Authenticate signs), else null (simple tokens).
  auth_service(replica& member, auth::password_worker& worker, const auth::jwt_tokens* jwt)
      : member_(member), worker_(worker), jwt_(jwt) {}
  void register_methods(request_pipeline& pipeline, net::grpc::service_registry& registry);

 private:
  runtime::task<unary_outcome> authenticate(const etcdserverpb::AuthenticateRequest& request);
  runtime::task<unary_outcome> user_add(const etcdserverpb::AuthUserAddRequest& request, std::string bytes,
                                        auth::caller who);
  runtime::task<unary_outcome> user_change_password(const etcdserverpb::AuthUserChangePasswordRequest& request,
                                                    std::string bytes, auth::caller who);
  runtime::task<unary_outcome> user_get(const etcdserverpb::AuthUserGetRequest& request, std::string bytes,
                                        auth::caller who);
  runtime::task<unary_outcome> user_list(const etcdserverpb::AuthUserListRequest& request, std::string bytes,
                                         auth::caller who);
  runtime::task<unary_outcome> role_get(const etcdserverpb::AuthRoleGetRequest& request, std::string bytes,
                                        auth::caller who);
  runtime::task<unary_outcome> role_list(const etcdserverpb::AuthRoleListRequest& request, std::string bytes,
                                         auth::caller who);
  unary_outcome signed_token(const std::string& user, unary_outcome granted) const;
  // The hash to store for `password` (empty for a no-password user), or the refusal: not root (checked
  // before spending the hashing), or too many passwords being hashed.
  runtime::task<rpc_status> hash_for(const auth::caller& who, std::string password, bool no_password,
                                     std::string& hash);

  replica& member_;
  auth::password_worker& worker_;
  const auth::jwt_tokens* jwt_;
};

}  // namespace ringkv::server
