// server/api/etcd_server.h — one member's etcd v3 API: owns the replica (server/replica/replica.h), the
// request pipeline every call passes (request_pipeline.h) and one object per etcd service, and wires
// them together. The services do the work; this class only composes them and forwards what the
// replica reports. Runs on the raft shard.
//
//   gRPC / JSON gateway ─> request_pipeline (stages, parse) ─> kv / lease / watch / cluster /
//                          maintenance / lock / election / auth service ─> replica (propose, read barrier, store)
//   replica_events: entries_applied ─> watch pump, apply waiters;  member_asked ─> cluster service;
//                   state_replacing ─> maintenance service (snapshot streams let go of the store)
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "net/grpc/service_registry.h"
#include "runtime/cancel.h"
#include "runtime/condition.h"
#include "runtime/gate.h"
#include "runtime/task.h"
#include "server/api/apply_waiters.h"
#include "server/api/auth_gate.h"
#include "server/api/auth_service.h"
#include "server/api/cluster_service.h"
#include "server/api/election_service.h"
#include "server/api/kv_service.h"
#include "server/api/lease_service.h"
#include "server/api/lock_service.h"
#include "server/api/maintenance_service.h"
#include "server/api/request_pipeline.h"
#include "server/api/watch_service.h"
#include "server/common/config.h"
#include "server/replica/member_identity.h"
#include "server/replica/replica.h"
#include "storage/wal/snapshot_store.h"
#include "storage/wal/wal.h"

namespace ringkv::server {

class etcd_server final : private replica_events {
 public:
  // Throws (std::exception) when the persisted state cannot be used: a snapshot that does not decode,
  // or a WAL that does not reach back to the snapshot (entries would be missing); or when the JWT key
  // files cannot be used (the process checks them first: jwt_tokens::load).
  etcd_server(const server_config& config, member_identity identity, storage::wal::write_ahead_log& wal,
              storage::wal::snapshot_store& snapshots, storage::wal::recovered_state recovered,
              std::optional<storage::wal::loaded_snapshot> snapshot);
  ~etcd_server();

  // Every service enters its methods (through the pipeline) in `registry`.
  void register_services(net::grpc::service_registry& registry);
  // The replica's loop and the services' background work (lease housekeeping, publish, auto
  // compaction, Snapshot streams), until stop().
  runtime::task<void> run();
  void stop();
  // etcd's ReadyNotify: true once a leader is known, this member published itself through raft (a
  // write can commit) and applied a read index (caught up); false when the member stops first. Client
  // connections are served from then on (main.cc), and systemd hears READY=1.
  runtime::task<bool> wait_ready();

  // For the HTTP endpoints: the JSON gateway calls the same unary methods as gRPC.
  bool healthy() const;
  // `token`: the Authorization header's value (the auth token), empty when none.
  runtime::task<unary_outcome> call_unary(std::string_view grpc_method, std::string bytes, std::string token = {});
  replica& member() { return replica_; }  // the raft driver, peers' wiring (server/process)

 private:
  // replica_events: what the replica tells the services.
  void entries_applied() override;  // watchers poll, waiters on the store wake
  void member_asked(member_op op, member_ask ask) override;
  void state_replacing() override;  // Maintenance.Snapshot streams in progress end with an error
  runtime::task<void> publish_then_ready();  // cluster_service::publish_self, then ready_

  replica replica_;
  std::optional<auth::jwt_tokens> jwt_;  // --auth-token jwt: the keys, parsed once
  learner_refusal learner_refusal_{replica_.is_learner()};
  auth_gate auth_gate_{replica_, jwt_ ? &*jwt_ : nullptr};
  request_pipeline pipeline_;  // every call, gRPC and gateway alike, passes it first
  auth::password_worker password_worker_;  // bcrypt off the raft shard
  apply_waiters apply_waiters_;  // woken after every applied batch (lock and election recipes)
  // Lease housekeeping, publish, auto compaction and Maintenance.Snapshot streams: run() waits for them.
  runtime::gate background_;
  runtime::cancel_source stop_background_;  // cancelled by stop()
  bool ready_ = false;                // set once by publish_then_ready(): published and caught up
  runtime::condition ready_changed_;  // notified when ready_ is set and when the member stops

  kv_service kv_{replica_};
  lease_service lease_{replica_};
  watch_service watch_{replica_};
  cluster_service cluster_{replica_};
  maintenance_service maintenance_{replica_, background_};
  lock_service lock_{replica_, apply_waiters_};
  election_service election_{replica_, apply_waiters_};
  auth_service auth_{replica_, password_worker_, jwt_ ? &*jwt_ : nullptr};
};

}  // namespace ringkv::server
