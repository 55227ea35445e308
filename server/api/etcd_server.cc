// server/api/etcd_server.cc — construction, the KV service, Cluster and Maintenance (see etcd_server.h).
#include "server/api/etcd_server.h"

#include <algorithm>
#include <cassert>
#include <deque>
#include <functional>

#include "runtime/spawn.h"
#include "runtime/timer.h"
#include "server/common/emulated_version.h"
#include "runtime/log.h"
#include "server/common/server_metrics.h"
#include "server/api/snapshot_seal.h"
#include "server/replica/state_snapshot.h"  // snapshot_slice_bytes
#include "server/common/unary_helpers.h"
#include "server/api/validate.h"

namespace ringkv::server {

using net::grpc::call_ref;
using namespace unary;

net::grpc::status to_grpc(const rpc_status& status) {
  return net::grpc::status{net::grpc::status_code(uint8_t(status.code)), status.message};
}

etcd_server::etcd_server(const server_config& config, member_identity identity,
                         storage::wal::write_ahead_log& wal, storage::wal::snapshot_store& snapshots,
                         storage::wal::recovered_state recovered,
                         std::optional<storage::wal::loaded_snapshot> snapshot)
    : replica_(config, std::move(identity), wal, snapshots, std::move(recovered), std::move(snapshot)) {
  replica_.set_events(*this);
  pipeline_.add(learner_refusal_);
  publish_db_size(store_.size_bytes());  // the state recovered from the snapshot
}

etcd_server::~etcd_server() = default;

bool etcd_server::healthy() const {
  return driver_.leader() != raft::kNoNode && !applier_.nospace_alarm();
}

void etcd_server::stop() { replica_.stop(); }

void etcd_server::entries_applied() {
  pump_watchers();
  wake_apply_waiters({});
  publish_db_size(store_.size_bytes());  // etcd_mvcc_db_total_size_in_bytes: as Status' dbSize
}

runtime::task<void> etcd_server::run() {
  // Background work that uses the member joins the gate; run() returns once all of it has ended.
  bool started = background_.spawn(lease_housekeeping());
  started = started && background_.spawn(publish_self());
  if (config_.compaction_period().count() > 0 || config_.compaction_revisions() > 0)
    started = started && background_.spawn(auto_compactor());
  assert(started && "the gate closes only below");
  co_await replica_.run();
  wake_apply_waiters(etcd_errors::stopped());
  co_await background_.close();
}

namespace {

bool txn_writes(const etcdserverpb::TxnRequest& txn) {
  for (const auto* branch : {&txn.success(), &txn.failure()})
    for (const auto& op : *branch)
      if (op.has_request_put() || op.has_request_delete_range() ||
          (op.has_request_txn() && txn_writes(op.request_txn())))
        return true;
  return false;
}

}  // namespace

void etcd_server::register_services(net::grpc::service_registry& registry) {
  unary_methods_ = {
      {"/etcdserverpb.KV/Range", &etcd_server::range},
      {"/etcdserverpb.KV/Put", &etcd_server::put},
      {"/etcdserverpb.KV/DeleteRange", &etcd_server::delete_range},
      {"/etcdserverpb.KV/Txn", &etcd_server::txn},
      {"/etcdserverpb.KV/Compact", &etcd_server::compact},
      {"/etcdserverpb.Lease/LeaseGrant", &etcd_server::lease_grant},
      {"/etcdserverpb.Lease/LeaseRevoke", &etcd_server::lease_revoke},
      {"/etcdserverpb.Lease/LeaseTimeToLive", &etcd_server::lease_time_to_live},
      {"/etcdserverpb.Lease/LeaseLeases", &etcd_server::lease_leases},
      {"/etcdserverpb.Cluster/MemberList", &etcd_server::member_list},
      {"/etcdserverpb.Cluster/MemberAdd", &etcd_server::member_add},
      {"/etcdserverpb.Cluster/MemberRemove", &etcd_server::member_remove},
      {"/etcdserverpb.Cluster/MemberUpdate", &etcd_server::member_update},
      {"/etcdserverpb.Cluster/MemberPromote", &etcd_server::member_promote},
      {"/etcdserverpb.Maintenance/Status", &etcd_server::status},
      {"/etcdserverpb.Maintenance/Alarm", &etcd_server::alarm},
      {"/etcdserverpb.Maintenance/Hash", &etcd_server::hash},
      {"/etcdserverpb.Maintenance/HashKV", &etcd_server::hash_kv},
      {"/etcdserverpb.Maintenance/Defragment", &etcd_server::defragment},
      {"/etcdserverpb.Maintenance/MoveLeader", &etcd_server::move_leader},
      {"/v3lockpb.Lock/Lock", &etcd_server::lock},
      {"/v3lockpb.Lock/Unlock", &etcd_server::unlock},
      {"/v3electionpb.Election/Campaign", &etcd_server::campaign},
      {"/v3electionpb.Election/Proclaim", &etcd_server::proclaim},
      {"/v3electionpb.Election/Leader", &etcd_server::leader},
      {"/v3electionpb.Election/Resign", &etcd_server::resign},
  };
  for (const auto& [path, method] : unary_methods_) {
    registry.add_request_method(path, [this, path = std::string_view(path), method = method](
                                          const call_ref& call, std::string_view bytes) {
      runtime::spawn(run_unary(call, path, method, std::string(bytes)));
    });
  }
  registry.add_request_method("/etcdserverpb.Maintenance/Snapshot", [this](const call_ref& call, std::string_view bytes) {
    if (admit_stream(call)) on_snapshot(call, bytes);
  }, net::grpc::call_type::server_stream);
  registry.add_request_method("/v3electionpb.Election/Observe", [this](const call_ref& call, std::string_view bytes) {
    if (admit_stream(call)) on_observe(call, bytes);
  }, net::grpc::call_type::server_stream);
  registry.add_stream_method("/etcdserverpb.Lease/LeaseKeepAlive", [this](const call_ref& call) {
    if (admit_stream(call)) on_lease_keep_alive(call);
  });
  registry.add_stream_method("/etcdserverpb.Watch/Watch", [this](const call_ref& call) {
    if (admit_stream(call)) on_watch(call);
  });
}

bool etcd_server::admit_stream(const call_ref& call) const {
  rpc_status admitted = pipeline_.admit({call->path(), {}, true});
  if (!admitted.ok()) call->finish(to_grpc(admitted));
  return admitted.ok();
}

runtime::task<void> etcd_server::run_unary(call_ref call, std::string_view path, unary_method method,
                                           std::string bytes) {
  if (rpc_status admitted = pipeline_.admit({path, bytes, false}); !admitted.ok()) {
    call->finish(to_grpc(admitted));
    co_return;
  }
  unary_outcome outcome = co_await (this->*method)(std::move(bytes));
  if (!call->alive()) co_return;
  if (outcome.status.ok()) call->respond(outcome.response);
  else call->finish(to_grpc(outcome.status));
}

runtime::task<unary_outcome> etcd_server::call_unary(std::string_view grpc_method, std::string bytes) {
  auto it = unary_methods_.find(std::string(grpc_method));
  if (it == unary_methods_.end()) co_return failure(etcd_errors::unimplemented(grpc_method));
  if (rpc_status admitted = pipeline_.admit({it->first, bytes, false}); !admitted.ok()) co_return failure(admitted);
  co_return co_await (this->*(it->second))(std::move(bytes));
}

// ---- auto compaction ----

// etcd's compactors: `revision` mode keeps the last N revisions (checked every 5 minutes); `periodic`
// mode keeps the history of the last period, sampling the revision every period/10 and compacting to
// the revision seen one period ago.
runtime::task<void> etcd_server::auto_compactor() {
  const int64_t keep_revisions = config_.compaction_revisions();
  const auto period = config_.compaction_period();
  const auto interval = keep_revisions > 0 ? std::chrono::milliseconds(std::chrono::minutes(5))
                                           : std::max<std::chrono::milliseconds>(period / 10, std::chrono::seconds(1));
  std::deque<int64_t> samples;  // revisions seen at each interval, oldest first (periodic mode)
  const size_t samples_per_period = 10;
  while (!replica_.stopping()) {
    int slept = co_await runtime::sleep_for(interval);
    if (slept != 0 || replica_.stopping()) break;
    if (!driver_.is_leader()) continue;
    int64_t target = 0;
    if (keep_revisions > 0) {
      target = store_.current_revision() - keep_revisions;
    } else {
      samples.push_back(store_.current_revision());
      if (samples.size() <= samples_per_period) continue;
      target = samples.front();
      samples.pop_front();
    }
    if (target <= store_.compact_revision() || target <= 0) continue;
    etcdserverpb::CompactionRequest request;
    request.set_revision(target);
    unary_outcome outcome = co_await replica_.propose(proposal_kind::compaction, request.SerializeAsString());
    if (outcome.status.ok()) log::info("auto compaction done", {{"revision", target}});
    else log::warn("auto compaction failed", {{"revision", target}, {"error", outcome.status.message}});
  }
}

// ---- KV ----

runtime::task<unary_outcome> etcd_server::range(std::string bytes) {
  etcdserverpb::RangeRequest request;
  if (!parse(request, bytes)) co_return failure(malformed());
  if (auto s = check_range(request); !s.ok()) co_return failure(s);
  if (!request.serializable()) {
    rpc_status barrier = co_await driver_.read_barrier();
    if (!barrier.ok()) co_return failure(barrier);
  }
  node_metrics().mvcc_range.inc();
  auto result = store_.range_view(from_proto(request));
  if (!result.ok()) co_return failure(to_status(result.error()));
  etcdserverpb::RangeResponse response;
  to_proto(result.value(), applier_.ids(), &response);
  co_return reply(response);
}

rpc_status etcd_server::check_space(int64_t cost) {
  if (!applier_.nospace_alarm() && store_.quota_available(cost, config_.effective_quota_bytes())) return {};
  if (!applier_.nospace_alarm()) {
    // Raise NOSPACE through raft, as etcd does, so it survives restarts.
    etcdserverpb::AlarmRequest alarm;
    alarm.set_action(etcdserverpb::AlarmRequest::ACTIVATE);
    alarm.set_memberid(identity_.member_id);
    alarm.set_alarm(etcdserverpb::NOSPACE);
    log::warn("database space exceeded; raising NOSPACE alarm",
              {{"quota-bytes", config_.effective_quota_bytes()}, {"size-bytes", store_.size_bytes()}});
    runtime::spawn([](raft_driver& n, std::string request) -> runtime::task<void> {
      co_await n.propose(proposal_kind::alarm, std::move(request));
    }(driver_, alarm.SerializeAsString()));
  }
  return etcd_errors::no_space();
}

runtime::task<unary_outcome> etcd_server::put(std::string bytes) {
  etcdserverpb::PutRequest request;
  if (!parse(request, bytes)) co_return failure(malformed());
  if (auto s = check_put(request); !s.ok()) co_return failure(s);
  if (auto s = check_space(mvcc::MvccStore::quota_cost(from_proto(request))); !s.ok()) co_return failure(s);
  node_metrics().mvcc_put.inc();
  co_return co_await replica_.propose(proposal_kind::put, std::move(bytes));
}

runtime::task<unary_outcome> etcd_server::delete_range(std::string bytes) {
  etcdserverpb::DeleteRangeRequest request;
  if (!parse(request, bytes)) co_return failure(malformed());
  if (auto s = check_delete_range(request); !s.ok()) co_return failure(s);
  node_metrics().mvcc_delete.inc();
  co_return co_await replica_.propose(proposal_kind::delete_range, std::move(bytes));
}

runtime::task<unary_outcome> etcd_server::txn(std::string bytes) {
  etcdserverpb::TxnRequest request;
  if (!parse(request, bytes)) co_return failure(malformed());
  if (auto s = check_txn(request, config_.max_txn_ops); !s.ok()) co_return failure(s);
  node_metrics().mvcc_txn.inc();
  if (txn_writes(request)) {
    if (auto s = check_space(mvcc::MvccStore::quota_cost(from_proto(request))); !s.ok()) co_return failure(s);
    co_return co_await replica_.propose(proposal_kind::txn, std::move(bytes));
  }
  // A read-only txn is served after a ReadIndex, like etcd; it changes nothing in the store.
  rpc_status barrier = co_await driver_.read_barrier();
  if (!barrier.ok()) co_return failure(barrier);
  auto result = store_.txn(from_proto(request));
  if (!result.ok()) co_return failure(to_status(result.error()));
  etcdserverpb::TxnResponse response;
  to_proto(result.value(), applier_.ids(), &response);
  co_return reply(response);
}

runtime::task<unary_outcome> etcd_server::compact(std::string bytes) {
  etcdserverpb::CompactionRequest request;
  if (!parse(request, bytes)) co_return failure(malformed());
  co_return co_await replica_.propose(proposal_kind::compaction, std::move(bytes));
}

// ---- Maintenance ----

runtime::task<unary_outcome> etcd_server::status(std::string bytes) {
  etcdserverpb::StatusRequest request;
  if (!parse(request, bytes)) co_return failure(malformed());
  etcdserverpb::StatusResponse response;
  fill_header(response.mutable_header(), applier_.ids(), store_.current_revision());
  response.set_version(emulated_etcd_version);
  response.set_dbsize(store_.size_bytes());
  response.set_dbsizeinuse(store_.size_bytes());
  response.set_leader(driver_.leader());
  response.set_raftindex(driver_.committed_index());
  response.set_raftterm(driver_.term());
  response.set_raftappliedindex(driver_.applied_index());
  response.set_islearner(replica_.is_learner());
  for (const auto& [member, type] : applier_.alarms())
    if (type == etcdserverpb::NOSPACE) response.add_errors("memberID:" + std::to_string(member) + " alarm:NOSPACE ");
  co_return reply(response);
}

runtime::task<unary_outcome> etcd_server::alarm(std::string bytes) {
  etcdserverpb::AlarmRequest request;
  if (!parse(request, bytes)) co_return failure(malformed());
  co_return co_await replica_.propose(proposal_kind::alarm, std::move(bytes));
}

runtime::task<unary_outcome> etcd_server::hash(std::string bytes) {
  etcdserverpb::HashRequest request;
  if (!parse(request, bytes)) co_return failure(malformed());
  auto result = store_.hash_kv(0);
  if (!result.ok()) co_return failure(to_status(result.error()));
  etcdserverpb::HashResponse response;
  fill_header(response.mutable_header(), applier_.ids(), result->header_revision);
  response.set_hash(result->hash);
  co_return reply(response);
}

runtime::task<unary_outcome> etcd_server::hash_kv(std::string bytes) {
  etcdserverpb::HashKVRequest request;
  if (!parse(request, bytes)) co_return failure(malformed());
  auto result = store_.hash_kv(request.revision());
  if (!result.ok()) co_return failure(to_status(result.error()));
  etcdserverpb::HashKVResponse response;
  fill_header(response.mutable_header(), applier_.ids(), result->header_revision);
  response.set_hash(result->hash);
  response.set_compact_revision(result->compact_revision);
  co_return reply(response);
}

void etcd_server::on_snapshot(const call_ref& call, std::string_view bytes) {
  etcdserverpb::SnapshotRequest request;
  if (!request.ParseFromArray(bytes.data(), int(bytes.size()))) {
    call->finish(to_grpc(malformed()));
    return;
  }
  if (!background_.spawn(stream_snapshot(call))) call->finish(to_grpc(etcd_errors::stopped()));
}

// The state at the start, serialized a slice per loop turn (writes go on meanwhile; the MVCC store
// skips their revisions), hashed for etcd's sha256 trailer and queued in etcd's 32 KiB blobs a few per
// turn, so a large state never stalls the member. The call going away or the server stopping ends it.
runtime::task<void> etcd_server::stream_snapshot(call_ref call) {
  constexpr size_t chunk_bytes = 32 * 1024;  // etcd sends 32 KiB blobs
  constexpr size_t chunks_per_turn = 64;
  // The call went away, or the server stops (then the client hears so, as from etcd).
  auto gone = [&] {
    if (replica_.stopping() && call->alive()) call->finish(to_grpc(etcd_errors::stopped()));
    return replica_.stopping() || !call->alive();
  };
  std::string sealed;
  sealed.reserve(size_t(std::max<int64_t>(store_.size_bytes(), 0)) + 4096);  // an upper bound: few regrowths
  snapshot_sealer sealer;
  {
    mvcc::MvccStore::Snapshotter snapshotter = store_.begin_snapshot(sealed);
    mvcc::MvccStore::SnapshotStep step = mvcc::MvccStore::SnapshotStep::more;
    while (!gone() && (step = snapshotter.step(snapshot_slice_bytes)) == mvcc::MvccStore::SnapshotStep::more) {
      co_await runtime::yield();
    }
    if (gone()) co_return;
    if (step == mvcc::MvccStore::SnapshotStep::abandoned) {
      call->finish(net::grpc::status{net::grpc::status_code::unavailable,
                                     "etcdserver: snapshot abandoned: the member installed the leader's snapshot"});
      co_return;
    }
  }
  for (size_t at = 0; at < sealed.size(); at += snapshot_slice_bytes) {
    sealer.update(std::string_view(sealed).substr(at, snapshot_slice_bytes));
    co_await runtime::yield();
    if (gone()) co_return;
  }
  sealer.finish(sealed);
  size_t chunks_this_turn = 0;
  for (size_t offset = 0; offset < sealed.size(); offset += chunk_bytes) {
    size_t n = std::min(chunk_bytes, sealed.size() - offset);
    etcdserverpb::SnapshotResponse response;
    fill_header(response.mutable_header(), applier_.ids(), store_.current_revision());
    response.set_remaining_bytes(sealed.size() - offset - n);
    response.set_blob(sealed.data() + offset, n);
    if (!call->write_message(response)) co_return;
    if (++chunks_this_turn == chunks_per_turn) {
      chunks_this_turn = 0;
      co_await runtime::yield();
      if (gone()) co_return;
    }
  }
  call->finish(net::grpc::status::success());
}

runtime::task<unary_outcome> etcd_server::defragment(std::string bytes) {
  etcdserverpb::DefragmentRequest request;
  if (!parse(request, bytes)) co_return failure(malformed());
  etcdserverpb::DefragmentResponse response;  // the in-memory store has nothing to defragment
  fill_header(response.mutable_header(), applier_.ids(), store_.current_revision());
  co_return reply(response);
}

runtime::task<unary_outcome> etcd_server::move_leader(std::string bytes) {
  etcdserverpb::MoveLeaderRequest request;
  if (!parse(request, bytes)) co_return failure(malformed());
  // etcd: only the leader moves leadership, to a voting member; the call returns once it has moved.
  if (!driver_.is_voter(request.targetid())) co_return failure(etcd_errors::bad_leader_transferee());
  if (!driver_.is_leader()) co_return failure(etcd_errors::not_leader());
  if (request.targetid() != identity_.member_id) {
    driver_.transfer_leadership(request.targetid());
    const auto deadline = runtime::clock::now() + 2 * config_.election_timeout + config_.heartbeat_interval;
    while (driver_.leader() != request.targetid()) {
      if (runtime::clock::now() >= deadline || replica_.stopping()) co_return failure(etcd_errors::timeout());
      if (co_await runtime::sleep_for(config_.heartbeat_interval / 5) != 0) co_return failure(etcd_errors::stopped());
    }
  }
  etcdserverpb::MoveLeaderResponse response;
  fill_header(response.mutable_header(), applier_.ids(), store_.current_revision());
  co_return reply(response);
}

}  // namespace ringkv::server
