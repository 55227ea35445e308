// server/api/request_pipeline.cc — see request_pipeline.h.
#include "server/api/request_pipeline.h"

#include "etcd/rpc.pb.h"
#include "server/replica/membership.h"

namespace ringkv::server {

rpc_status request_pipeline::admit(const call_info& call) const {
  for (const request_stage* stage : stages_) {
    rpc_status status = stage->admit(call);
    if (!status.ok()) return status;
  }
  return {};
}

rpc_status learner_refusal::admit(const call_info& call) const {
  if (!is_learner_) return {};
  if (call.stream) return member_errors::not_for_learner();
  if (call.method == "/etcdserverpb.Maintenance/Status") return {};
  if (call.method == "/etcdserverpb.KV/Range") {
    etcdserverpb::RangeRequest request;
    if (request.ParseFromArray(call.request.data(), int(call.request.size())) && request.serializable()) return {};
  }
  return member_errors::not_for_learner();
}

}  // namespace ringkv::server
