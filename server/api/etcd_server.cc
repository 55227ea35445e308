// server/api/etcd_server.cc — construction, the KV service, Cluster and Maintenance (see etcd_server.h).
#include "server/api/etcd_server.h"

#include <algorithm>
#include <cassert>
#include <deque>
#include <functional>
#include <random>

#include "net/peer/cluster_id.h"
#include "runtime/spawn.h"
#include "runtime/timer.h"
#include "server/common/emulated_version.h"
#include "runtime/log.h"
#include "server/replica/membership_join.h"
#include "server/common/server_metrics.h"
#include "server/api/snapshot_seal.h"
#include "server/replica/state_snapshot.h"
#include "server/common/unary_helpers.h"
#include "server/api/validate.h"

namespace ringkv::server {

using net::grpc::call_ref;
using namespace unary;

net::grpc::status to_grpc(const rpc_status& status) {
  return net::grpc::status{net::grpc::status_code(uint8_t(status.code)), status.message};
}

namespace {

std::vector<raft::NodeId> voter_ids(const member_identity& identity) {
  std::vector<raft::NodeId> ids;
  for (const auto& member : identity.members) ids.push_back(member.id);
  return ids;  // sorted: every member writes the same bootstrap entry
}

raft::Config raft_config_for(const server_config& config, const member_identity& identity, raft::Index applied) {
  raft::Config rc;
  rc.id = identity.member_id;
  rc.heartbeat_ticks = 1;
  rc.election_ticks = uint32_t(config.election_timeout / config.heartbeat_interval);
  rc.random_seed = identity.member_id;
  // A new cluster starts with every initial member as a voter; a member joining an existing one learns
  // the membership from the leader.
  if (config.initial_cluster_state == cluster_state::new_cluster || !identity.multi_member())
    rc.bootstrap_voters = voter_ids(identity);
  rc.applied = applied;
  return rc;
}

// The membership a snapshot was taken with: its membership section, or (snapshots written before
// membership changes existed) the initial members. Throws if the section does not decode.
raft::ConfState snapshot_conf(std::string_view data, const member_identity& identity) {
  unwrapped_snapshot unwrapped = unwrap_snapshot(data);
  if (!unwrapped.valid) throw std::runtime_error("the snapshot's membership section does not decode");
  if (unwrapped.members && !unwrapped.members->empty()) return unwrapped.members->conf_state();
  return raft::ConfState{voter_ids(identity), {}};
}

// The raft state to start from: the snapshot (if any) and the WAL entries after it. entries_after
// throws if the WAL does not reach back to the snapshot: starting would silently lose entries.
raft::PersistedState persisted_from(const storage::wal::recovered_state& recovered,
                                    const std::optional<storage::wal::loaded_snapshot>& snapshot,
                                    const member_identity& identity) {
  raft::PersistedState state;
  state.hard_state = {recovered.state.term, recovered.state.vote, recovered.state.commit};
  uint64_t snapshot_index = snapshot ? snapshot->id.index : 0;
  if (snapshot) {
    auto loaded = std::make_shared<raft::Snapshot>();
    loaded->meta = raft::SnapshotMeta{snapshot->id.index, snapshot->id.term, snapshot_conf(snapshot->data, identity)};
    loaded->data = raft::SharedBytes::copy_of(std::string_view(snapshot->data));
    state.snapshot = std::move(loaded);
  }
  for (auto& e : storage::wal::entries_after(recovered.entries, snapshot_index)) {
    state.entries.push_back(
        raft::Entry{e.term, e.index, raft::EntryType(e.kind), raft::SharedBytes::copy_of(std::string_view(e.payload))});
  }
  return state;
}

}  // namespace

etcd_server::etcd_server(const server_config& config, member_identity identity,
                         storage::wal::write_ahead_log& wal, storage::wal::snapshot_store& snapshots,
                         storage::wal::recovered_state recovered,
                         std::optional<storage::wal::loaded_snapshot> snapshot)
    : config_(config),
      identity_(settle_identity(config, std::move(identity),
                                recovered.entries.empty() && recovered.state.term == 0 && !snapshot)),
      wal_(wal),
      snapshots_(snapshots),
      log_storage_(wal, snapshots),
      store_(mvcc::StoreConfig{int64_t(config.max_txn_ops),
                               // etcd's minimum lease TTL: 1.5 election timeouts, rounded up to seconds
                               std::max<int64_t>(1, (3 * config.election_timeout.count() / 2 + 999) / 1000),
                               1000, 20000, 65536}),
      applier_(store_, identity_.cluster_id, identity_.member_id),
      driver_(raft_config_for(config, identity_, snapshot ? snapshot->id.index : 0),
            persisted_from(recovered, snapshot, identity_),
            *this, log_storage_,
            raft_driver_limits{config.heartbeat_interval, std::chrono::milliseconds(5000) + 2 * config.election_timeout,
                        4096, 65536, config.snapshot_count}) {
  if (snapshot && !restore_state(snapshot->data, snapshot->id.index))
    throw std::runtime_error("snapshot " + storage::wal::snapshot_file_name(snapshot->id) + " does not decode");
  std::random_device random;  // ask answers replayed from an earlier run must match no waiter
  next_ask_nonce_ = uint64_t(random()) << 32 | random();
  driver_.wiring().cluster_id = identity_.cluster_id;
  driver_.wiring().attach = [this](net::peer::peer_transport* transport) {
    transport_ = transport;
    transport_peers_.clear();
    if (transport_) sync_peers();
  };
  driver_.wiring().members_query = [this] { return members_query(); };
  driver_.wiring().on_removed = [this] { leave_cluster(); };
  pipeline_.add(learner_refusal_);
  node_metrics().quota_backend_bytes.set(double(config.effective_quota_bytes()));
  publish_db_size(store_.size_bytes());  // the state recovered from the snapshot
  metrics::global()
      .add_gauge("etcd_server_id", "Server or member ID in hexadecimal format. 1 for 'server_id' label.",
                 {{"server_id", [&] {
                    char hex[24];
                    std::snprintf(hex, sizeof hex, "%llx", (unsigned long long)identity_.member_id);
                    return std::string(hex);
                  }()}})
      .set(1);
}

etcd_server::~etcd_server() = default;

// ---- the replicated state the raft driver applies to (replicated_state) ----

apply_result etcd_server::apply_entry(const decoded_payload& payload, raft::Index index, raft::Term term) {
  if (uint8_t(payload.kind) == membership_payload_kind) return apply_member_change(payload, term);
  return applier_.apply(payload, index, term);
}

void etcd_server::skip_undecodable_entry(raft::Index index) {
  log::error("undecodable raft entry skipped", {{"index", index}});
}

void etcd_server::entries_applied() {
  pump_watchers();
  wake_apply_waiters({});
  publish_db_size(store_.size_bytes());  // etcd_mvcc_db_total_size_in_bytes: as Status' dbSize
}

void etcd_server::leadership_changed(bool is_leader) {  // the leader owns lease expiry (etcd's lessor)
  if (is_leader) store_.lease_promote(lease_clock_ms(), config_.election_timeout.count());
  else store_.lease_demote();
}

snapshot_stepper etcd_server::begin_snapshot(std::string& out) { return begin_state_snapshot(members_, applier_, out); }

bool etcd_server::restore_snapshot(raft::Index index, std::string_view data) { return restore_state(data, index); }

bool etcd_server::healthy() const {
  return driver_.leader() != raft::kNoNode && !applier_.nospace_alarm();
}

void etcd_server::stop() {
  stopping_ = true;
  driver_.stop();
}

runtime::task<void> etcd_server::run() {
  runtime::spawn(lease_housekeeping());
  runtime::spawn(publish_self());
  if (config_.compaction_period().count() > 0 || config_.compaction_revisions() > 0)
    runtime::spawn(auto_compactor());
  co_await driver_.run();
  stopping_ = true;
  wake_apply_waiters(etcd_errors::stopped());
  while (lease_task_running_ || compactor_running_ || publish_running_ || snapshot_streams_running_ > 0)
    co_await runtime::sleep_for(std::chrono::milliseconds(10));
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
  compactor_running_ = true;
  const int64_t keep_revisions = config_.compaction_revisions();
  const auto period = config_.compaction_period();
  const auto interval = keep_revisions > 0 ? std::chrono::milliseconds(std::chrono::minutes(5))
                                           : std::max<std::chrono::milliseconds>(period / 10, std::chrono::seconds(1));
  std::deque<int64_t> samples;  // revisions seen at each interval, oldest first (periodic mode)
  const size_t samples_per_period = 10;
  while (!stopping_) {
    int slept = co_await runtime::sleep_for(interval);
    if (slept != 0 || stopping_) break;
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
    unary_outcome outcome = co_await propose(proposal_kind::compaction, request.SerializeAsString());
    if (outcome.status.ok()) log::info("auto compaction done", {{"revision", target}});
    else log::warn("auto compaction failed", {{"revision", target}, {"error", outcome.status.message}});
  }
  compactor_running_ = false;
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

runtime::task<unary_outcome> etcd_server::propose(proposal_kind kind, std::string bytes) {
  // etcd: the raft request must fit --max-request-bytes
  if (bytes.size() > config_.max_request_bytes) co_return failure(etcd_errors::request_too_large());
  co_return co_await driver_.propose(kind, std::move(bytes));
}

runtime::task<unary_outcome> etcd_server::put(std::string bytes) {
  etcdserverpb::PutRequest request;
  if (!parse(request, bytes)) co_return failure(malformed());
  if (auto s = check_put(request); !s.ok()) co_return failure(s);
  if (auto s = check_space(mvcc::MvccStore::quota_cost(from_proto(request))); !s.ok()) co_return failure(s);
  node_metrics().mvcc_put.inc();
  co_return co_await propose(proposal_kind::put, std::move(bytes));
}

runtime::task<unary_outcome> etcd_server::delete_range(std::string bytes) {
  etcdserverpb::DeleteRangeRequest request;
  if (!parse(request, bytes)) co_return failure(malformed());
  if (auto s = check_delete_range(request); !s.ok()) co_return failure(s);
  node_metrics().mvcc_delete.inc();
  co_return co_await propose(proposal_kind::delete_range, std::move(bytes));
}

runtime::task<unary_outcome> etcd_server::txn(std::string bytes) {
  etcdserverpb::TxnRequest request;
  if (!parse(request, bytes)) co_return failure(malformed());
  if (auto s = check_txn(request, config_.max_txn_ops); !s.ok()) co_return failure(s);
  node_metrics().mvcc_txn.inc();
  if (txn_writes(request)) {
    if (auto s = check_space(mvcc::MvccStore::quota_cost(from_proto(request))); !s.ok()) co_return failure(s);
    co_return co_await propose(proposal_kind::txn, std::move(bytes));
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
  co_return co_await propose(proposal_kind::compaction, std::move(bytes));
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
  response.set_islearner(self_learner_);
  for (const auto& [member, type] : applier_.alarms())
    if (type == etcdserverpb::NOSPACE) response.add_errors("memberID:" + std::to_string(member) + " alarm:NOSPACE ");
  co_return reply(response);
}

runtime::task<unary_outcome> etcd_server::alarm(std::string bytes) {
  etcdserverpb::AlarmRequest request;
  if (!parse(request, bytes)) co_return failure(malformed());
  co_return co_await propose(proposal_kind::alarm, std::move(bytes));
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
  runtime::spawn(stream_snapshot(call));
}

// The state at the start, serialized a slice per loop turn (writes go on meanwhile; the MVCC store
// skips their revisions), hashed for etcd's sha256 trailer and queued in etcd's 32 KiB blobs a few per
// turn, so a large state never stalls the member. The call going away or the server stopping ends it.
runtime::task<void> etcd_server::stream_snapshot(call_ref call) {
  ++snapshot_streams_running_;
  struct running_guard {
    int& count;
    ~running_guard() { --count; }
  } running{snapshot_streams_running_};
  constexpr size_t chunk_bytes = 32 * 1024;  // etcd sends 32 KiB blobs
  constexpr size_t chunks_per_turn = 64;
  // The call went away, or the server stops (then the client hears so, as from etcd).
  auto gone = [&] {
    if (stopping_ && call->alive()) call->finish(to_grpc(etcd_errors::stopped()));
    return stopping_ || !call->alive();
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
      if (runtime::clock::now() >= deadline || stopping_) co_return failure(etcd_errors::timeout());
      if (co_await runtime::sleep_for(config_.heartbeat_interval / 5) != 0) co_return failure(etcd_errors::stopped());
    }
  }
  etcdserverpb::MoveLeaderResponse response;
  fill_header(response.mutable_header(), applier_.ids(), store_.current_revision());
  co_return reply(response);
}

}  // namespace ringkv::server
