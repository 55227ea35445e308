// server/api/auth_gate.h — auth in the request pipeline (etcd 3.4's AuthInfoFromCtx and the checks its
// v3_server.go and maintenance/cluster servers make before serving): turns a call's token into the
// caller (a simple token through the applier's table, a JWT by its signature: jwt_tokens.h) (or takes the client certificate's CN, with --client-cert-auth), refuses an unknown or expired token (Unauthenticated "etcdserver: invalid auth token", so that
// clients authenticate again), and checks what etcd checks before serving:
//   Range                                   read permission (etcdserver errors)
//   Put, DeleteRange, Txn                   their permissions now; the applier checks again (as_user)
//   MemberAdd/Remove/Update/Promote         root (etcdserver errors)
//   Defragment, Hash, HashKV, Snapshot      root (the auth package's raw errors: Unknown "auth: ...")
//   Compact, LeaseGrant/Revoke, Alarm, Auth changes: only the token (the applier checks what etcd does)
//   Lock, Election (unary)                  only the token (the recipes check their keys: recipes.h)
//   Status, MoveLeader, MemberList, LeaseTimeToLive/Leases/KeepAlive, Authenticate: nothing
// Watch checks each watcher at its creation (watch_permitted). Runs on the raft shard.
#pragma once

#include <string_view>

#include "etcd/rpc.pb.h"
#include "server/api/request_pipeline.h"
#include "server/auth/jwt_tokens.h"
#include "server/replica/replica.h"

namespace ringkv::server {

class auth_gate final : public call_authenticator {
 public:
  // `jwt`: the member's JWT keys with --auth-token jwt, else null (simple tokens).
  auth_gate(replica& member, auth::jwt_tokens* jwt) : member_(member), jwt_(jwt) {}
  rpc_status authenticate(const call_info& call, auth::caller& who) const override;
  // The caller of a call carrying `token`, or invalid_auth_token. Without a token, with
  // --client-cert-auth, the verified client certificate's CN `cert_cn` is the user (etcd's
  // AuthInfoFromTLS); else nobody.
  rpc_status identify(std::string_view token, std::string_view cert_cn, auth::caller& who) const;
  // etcd's isWatchPermitted: read permission over the watched range for the stream's token or CN.
  bool watch_permitted(std::string_view token, std::string_view cert_cn,
                       const etcdserverpb::WatchCreateRequest& create) const;

 private:
  replica& member_;
  auth::jwt_tokens* jwt_;
};

}  // namespace ringkv::server
