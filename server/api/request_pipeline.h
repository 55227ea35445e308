// server/api/request_pipeline.h — the checks every call passes before its service method runs, as one
// chain of named stages (etcd 3.4's gRPC interceptors). Today one stage: a learner's refusals. Auth,
// request limits and the like plug in as further stages, in the order they are added.
//
//   gRPC call / JSON gateway request ──> request_pipeline::admit(call) ──┬─ refused: the stage's status
//                                                                         └─ admitted: the service method
#pragma once

#include <string_view>
#include <vector>

#include "server/common/errors.h"

namespace ringkv::server {

// What a stage may look at. Views are valid during admit() only.
struct call_info {
  std::string_view method;   // "/etcdserverpb.KV/Range"
  std::string_view request;  // the request bytes (empty when a stream opens)
  bool stream = false;       // a client-, server- or bidi-streaming call
};

class request_stage {
 public:
  // ok to let the call through, or the status the call ends with.
  virtual rpc_status admit(const call_info& call) const = 0;

 protected:
  ~request_stage() = default;
};

class request_pipeline {
 public:
  // Appends a stage; it must outlive the pipeline.
  void add(const request_stage& stage) { stages_.push_back(&stage); }
  // The first refusal, in the order the stages were added; ok when every stage admits the call.
  rpc_status admit(const call_info& call) const;

 private:
  std::vector<const request_stage*> stages_;
};

// etcd 3.4's learner: it serves Status and serializable Range only, and no stream at all
// (Unavailable "etcdserver: rpc not supported for learner").
class learner_refusal final : public request_stage {
 public:
  // `is_learner` is the member's own flag (it changes when the member is promoted); it outlives this.
  explicit learner_refusal(const bool& is_learner) : is_learner_(is_learner) {}
  rpc_status admit(const call_info& call) const override;

 private:
  const bool& is_learner_;
};

}  // namespace ringkv::server
