// server/api/lock_service.h — etcd's v3lock service (Lock, Unlock), run server-side with the key layout
// of etcd's client lock recipe (recipes.h): Lock holds <name>/<lease> and answers once it is the
// oldest key under <name>/; Unlock deletes the key. Auth: as etcd's KV checks of those steps (recipes.h).
#pragma once

#include "etcd/v3lock.pb.h"
#include "net/grpc/service_registry.h"
#include "runtime/task.h"
#include "server/api/apply_waiters.h"
#include "server/api/recipes.h"
#include "server/api/request_pipeline.h"
#include "server/replica/replica.h"

namespace ringkv::server {

class lock_service {
 public:
  lock_service(replica& member, apply_waiters& waiters) : member_(member), recipes_(member, waiters) {}
  void register_methods(request_pipeline& pipeline, net::grpc::service_registry& registry);

 private:
  runtime::task<unary_outcome> lock(const v3lockpb::LockRequest& request, std::string bytes, auth::caller who);
  runtime::task<unary_outcome> unlock(const v3lockpb::UnlockRequest& request, std::string bytes, auth::caller who);

  replica& member_;
  recipes recipes_;
};

}  // namespace ringkv::server
