// server/api/maintenance_service.h — etcd's Maintenance service: Status, Alarm (through raft), Hash,
// HashKV, Defragment (nothing to do for the in-memory store), MoveLeader, and the Snapshot stream.
//
// Maintenance.Snapshot sends etcd 3.4's snapshot file (storage/etcd_snapshot: the bbolt database and
// its sha256), so `etcdctl snapshot save` against ringkv gives a file `etcdctl snapshot status/restore`
// and `ringkv snapshot restore` take. The file is made while it is sent, never held whole:
//
//   loop turn:  queued_output_bytes() > snapshot_stream_buffer_bytes_limit ?  park until the call drains
//               (or is cancelled, aborted, or the server stops)
//               else writer.step(snapshot_stream_step_bytes) ──pages──> pending ──32 KiB blobs──> call
//
// The writer reads the live store through a revision cursor (later writes are left out: the file is the
// state when the stream began, consistent_index = the applied index then). A snapshot install replaces
// the store: state_replacing() destroys every writer first, and their streams end with Unavailable
// ("etcdserver: snapshot aborted ..."), as etcd fails a snapshot whose backend went away. At most
// snapshot_streams_max run at once; more are answered ResourceExhausted "etcdserver: too many requests".
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "etcd/rpc.pb.h"
#include "net/grpc/server_call.h"
#include "net/grpc/service_registry.h"
#include "runtime/gate.h"
#include "runtime/notifier.h"
#include "runtime/task.h"
#include "server/api/request_pipeline.h"
#include "server/replica/replica.h"

namespace ringkv::server {

class maintenance_service {
 public:
  // Snapshot streams run in `background` (the server waits for it at stop).
  maintenance_service(replica& member, runtime::gate& background) : member_(member), background_(background) {}
  void register_methods(request_pipeline& pipeline, net::grpc::service_registry& registry);
  // The store is about to be replaced: snapshot streams in progress drop their writers and end.
  void abort_snapshot_streams();
  // The member stops: parked snapshot streams wake, tell their clients, and end.
  void stop_snapshot_streams();

  static constexpr size_t snapshot_streams_max = 2;
  static constexpr size_t snapshot_stream_buffer_bytes_limit = 1024 * 1024;  // queued, not yet read
  // Database bytes one loop turn makes and sends. A 100 MB save took ~3,000 steps in ~0.85 s (under 0.3 ms
  // a step on average; the longest 1.2-3.7 ms of CPU on a loaded 2-core machine): what puts applied
  // between turns can wait. "sent database snapshot to writer" logs the longest step's CPU time.
  static constexpr size_t snapshot_stream_step_bytes = 64 * 1024;

 private:
  runtime::task<unary_outcome> status(const etcdserverpb::StatusRequest& request);
  runtime::task<unary_outcome> hash(const etcdserverpb::HashRequest& request);
  runtime::task<unary_outcome> hash_kv(const etcdserverpb::HashKVRequest& request);
  runtime::task<unary_outcome> defragment(const etcdserverpb::DefragmentRequest& request);
  runtime::task<unary_outcome> move_leader(const etcdserverpb::MoveLeaderRequest& request);
  runtime::task<rpc_status> wait_for_leader(uint64_t target);

  struct snapshot_stream;  // one Maintenance.Snapshot in progress (lives in its coroutine's frame)
  void on_snapshot(const net::grpc::call_ref& call, std::string_view bytes);
  runtime::task<void> stream_snapshot(net::grpc::call_ref call);
  // One loop turn's worth: a writer step, its pages sent as blobs; true once the file is out.
  bool snapshot_turn(net::grpc::call_ref& call, snapshot_stream& stream);
  void send_blobs(net::grpc::call_ref& call, snapshot_stream& stream, bool last);
  void log_snapshot_sent(const snapshot_stream& stream);
  bool stream_gone(net::grpc::call_ref& call) const;

  replica& member_;
  runtime::gate& background_;
  size_t snapshot_streams_ = 0;                  // accepted, not ended (<= snapshot_streams_max)
  std::vector<snapshot_stream*> active_streams_;  // every stream not ended (its writer, if any, reads the store)
};

}  // namespace ringkv::server
