// server/api/maintenance_service.h — etcd's Maintenance service: Status, Alarm (through raft), Hash,
// HashKV, Defragment (nothing to do for the in-memory store), MoveLeader, and the Snapshot stream: the
// state serialized a slice per loop turn, sealed with etcd's sha256 trailer and sent in 32 KiB blobs.
#pragma once

#include <string>
#include <string_view>

#include "etcd/rpc.pb.h"
#include "net/grpc/server_call.h"
#include "net/grpc/service_registry.h"
#include "runtime/gate.h"
#include "runtime/task.h"
#include "server/api/request_pipeline.h"
#include "server/replica/replica.h"

namespace ringkv::server {

class maintenance_service {
 public:
  // Snapshot streams run in `background` (the server waits for it at stop).
  maintenance_service(replica& member, runtime::gate& background) : member_(member), background_(background) {}
  void register_methods(request_pipeline& pipeline, net::grpc::service_registry& registry);

 private:
  runtime::task<unary_outcome> status(const etcdserverpb::StatusRequest& request);
  runtime::task<unary_outcome> hash(const etcdserverpb::HashRequest& request);
  runtime::task<unary_outcome> hash_kv(const etcdserverpb::HashKVRequest& request);
  runtime::task<unary_outcome> defragment(const etcdserverpb::DefragmentRequest& request);
  runtime::task<unary_outcome> move_leader(const etcdserverpb::MoveLeaderRequest& request);
  runtime::task<rpc_status> wait_for_leader(uint64_t target);

  void on_snapshot(const net::grpc::call_ref& call, std::string_view bytes);
  // Maintenance.Snapshot's stream: serialized, hashed and queued a slice per loop turn.
  runtime::task<void> stream_snapshot(net::grpc::call_ref call);
  // The state at the start into `sealed`, a slice per turn; false when the stream ended meanwhile.
  runtime::task<bool> serialize_state(net::grpc::call_ref& call, std::string& sealed);
  runtime::task<void> send_snapshot(net::grpc::call_ref& call, const std::string& sealed);
  bool stream_gone(net::grpc::call_ref& call) const;

  replica& member_;
  runtime::gate& background_;
};

}  // namespace ringkv::server
