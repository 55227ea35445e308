// server/api/lock_service.cc — see lock_service.h.
#include "server/api/lock_service.h"

#include "server/api/service_support.h"

namespace ringkv::server {

using namespace unary;

void lock_service::register_methods(request_pipeline& pipeline, net::grpc::service_registry& registry) {
  service_methods lock(pipeline, registry, *this, "/v3lockpb.Lock/");
  lock.unary("Lock", &lock_service::lock);
  lock.unary("Unlock", &lock_service::unlock);
}

runtime::task<unary_outcome> lock_service::lock(const v3lockpb::LockRequest& request, std::string /*bytes*/,
                                                auth::caller who) {
  recipe_holder held;
  if (auto s = co_await recipes_.take_turn(request.name(), request.lease(), "", held, who); !s.ok())
    co_return failure(s);
  v3lockpb::LockResponse response;
  response.set_key(held.key);
  co_return stamped_reply(member_, response);
}

runtime::task<unary_outcome> lock_service::unlock(const v3lockpb::UnlockRequest& request, std::string /*bytes*/,
                                                  auth::caller who) {
  etcdserverpb::DeleteRangeRequest del;
  del.set_key(request.key());
  if (rpc_status s = recipes_.permitted(who, del.key(), {}, auth::access::write); !s.ok()) co_return failure(s);
  unary_outcome deleted = co_await propose_for(member_, who, proposal_kind::delete_range, del.SerializeAsString());
  if (!deleted.status.ok()) co_return failure(auth::as_recipe_status(std::move(deleted.status)));
  v3lockpb::UnlockResponse response;
  co_return stamped_reply(member_, response);
}

}  // namespace ringkv::server
