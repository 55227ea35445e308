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

runtime::task<unary_outcome> lock_service::lock(const v3lockpb::LockRequest& request) {
  recipe_holder held;
  if (auto s = co_await recipes_.take_turn(request.name(), request.lease(), "", held); !s.ok()) co_return failure(s);
  v3lockpb::LockResponse response;
  response.set_key(held.key);
  co_return stamped_reply(member_, response);
}

runtime::task<unary_outcome> lock_service::unlock(const v3lockpb::UnlockRequest& request) {
  etcdserverpb::DeleteRangeRequest del;
  del.set_key(request.key());
  unary_outcome deleted = co_await member_.propose(proposal_kind::delete_range, del.SerializeAsString());
  if (!deleted.status.ok()) co_return deleted;
  v3lockpb::UnlockResponse response;
  co_return stamped_reply(member_, response);
}

}  // namespace ringkv::server
