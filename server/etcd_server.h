// server/etcd_server.h — one member serving etcd's v3 API: owns the MVCC store, the state machine
// applier and the node loop, and registers the gRPC methods (KV, Watch, Lease, Cluster, Maintenance)
// in a net::grpc::service_registry. Everything here runs on the raft shard (shard 0).
//
//   gRPC handler ─ parse + validate ─┬─ write: node.propose(kind, request bytes) ─> apply ─> reply
//                                    └─ read: node.read_barrier() (unless serializable) ─> store.range
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "net/grpc/grpc_status.h"
#include "net/grpc/service_registry.h"
#include "runtime/task.h"
#include "server/config.h"
#include "server/kv_applier.h"
#include "server/node.h"
#include "storage/mvcc/store.h"
#include "storage/wal/wal.h"

namespace ringkv::server {

net::grpc::status to_grpc(const rpc_status& status);

struct member_identity {
  uint64_t member_id = 0;
  uint64_t cluster_id = 0;
};
// Deterministic ids from the name, peer URLs and cluster token (etcd derives them the same way in
// spirit: a hash of the member's URLs and the token).
member_identity derive_identity(const server_config& config);

class etcd_server {
 public:
  etcd_server(const server_config& config, member_identity identity, storage::wal::write_ahead_log& wal,
              storage::wal::recovered_state recovered);
  ~etcd_server();

  void register_services(net::grpc::service_registry& registry);
  runtime::task<void> run();  // node loop + lease housekeeping, until stop()
  void stop();

  // For the HTTP endpoints.
  bool healthy() const;
  const kv_applier& applier() const { return applier_; }
  node& raft_node() { return node_; }

 private:
  struct watch_stream;

  // KV
  void on_range(const net::grpc::call_ref& call, std::string_view bytes);
  void on_put(const net::grpc::call_ref& call, std::string_view bytes);
  void on_delete_range(const net::grpc::call_ref& call, std::string_view bytes);
  void on_txn(const net::grpc::call_ref& call, std::string_view bytes);
  void on_compact(const net::grpc::call_ref& call, std::string_view bytes);
  runtime::task<void> range_after_barrier(net::grpc::call_ref call, etcdserverpb::RangeRequest request);
  runtime::task<void> read_only_txn(net::grpc::call_ref call, std::string bytes);
  runtime::task<void> propose_and_reply(net::grpc::call_ref call, proposal_kind kind, std::string bytes);
  bool reject_if_no_space(const net::grpc::call_ref& call, int64_t cost);
  void answer_range(const net::grpc::call_ref& call, const etcdserverpb::RangeRequest& request);

  // Lease
  void on_lease_grant(const net::grpc::call_ref& call, std::string_view bytes);
  void on_lease_revoke(const net::grpc::call_ref& call, std::string_view bytes);
  void on_lease_time_to_live(const net::grpc::call_ref& call, std::string_view bytes);
  void on_lease_leases(const net::grpc::call_ref& call, std::string_view bytes);
  void on_lease_keep_alive(const net::grpc::call_ref& call);
  runtime::task<void> lease_housekeeping();

  // Watch
  void on_watch(const net::grpc::call_ref& call);
  void pump_watchers();

  // Cluster and Maintenance
  void on_member_list(const net::grpc::call_ref& call, std::string_view bytes);
  void on_status(const net::grpc::call_ref& call, std::string_view bytes);
  void on_alarm(const net::grpc::call_ref& call, std::string_view bytes);
  void on_hash(const net::grpc::call_ref& call, std::string_view bytes);
  void on_hash_kv(const net::grpc::call_ref& call, std::string_view bytes);
  void on_snapshot(const net::grpc::call_ref& call, std::string_view bytes);
  void on_defragment(const net::grpc::call_ref& call, std::string_view bytes);
  void on_move_leader(const net::grpc::call_ref& call, std::string_view bytes);

  etcdserverpb::Member self_member() const;

  server_config config_;
  member_identity identity_;
  storage::wal::write_ahead_log& wal_;
  mvcc::MvccStore store_;
  kv_applier applier_;
  node node_;
  bool stopping_ = false;
  bool lease_task_running_ = false;

  std::unordered_map<mvcc::watch_id_t, std::weak_ptr<watch_stream>> watch_owner_;  // streams own themselves via their call's callbacks
};

}  // namespace ringkv::server
