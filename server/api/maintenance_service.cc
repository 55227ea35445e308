// server/api/maintenance_service.cc — see maintenance_service.h.
#include "server/api/maintenance_service.h"

#include <algorithm>

#include "runtime/timer.h"
#include "server/api/service_support.h"
#include "server/api/snapshot_seal.h"
#include "server/common/emulated_version.h"
#include "server/replica/state_snapshot.h"  // snapshot_slice_bytes

namespace ringkv::server {

using net::grpc::call_ref;
using namespace unary;

namespace {

constexpr size_t snapshot_chunk_bytes = 32 * 1024;  // etcd sends 32 KiB blobs
constexpr size_t snapshot_chunks_per_turn = 64;

// Hash and HashKV: the store's hash at `revision` (0: current), the header at the hashed revision.
template <typename Response>
unary_outcome hash_reply(const replica& member, int64_t revision) {
  auto result = member.store().hash_kv(revision);
  if (!result.ok()) return failure(to_status(result.error()));
  Response response;
  fill_header(response.mutable_header(), member.applier().ids(), result->header_revision);
  response.set_hash(result->hash);
  if constexpr (std::is_same_v<Response, etcdserverpb::HashKVResponse>)
    response.set_compact_revision(result->compact_revision);
  return reply(response);
}

}  // namespace

void maintenance_service::register_methods(request_pipeline& pipeline, net::grpc::service_registry& registry) {
  service_methods maintenance(pipeline, registry, *this, "/etcdserverpb.Maintenance/");
  maintenance.unary("Status", &maintenance_service::status);
  maintenance.unary("Alarm", propose_as<etcdserverpb::AlarmRequest>{member_, proposal_kind::alarm});
  maintenance.unary("Hash", &maintenance_service::hash);
  maintenance.unary("HashKV", &maintenance_service::hash_kv);
  maintenance.unary("Defragment", &maintenance_service::defragment);
  maintenance.unary("MoveLeader", &maintenance_service::move_leader);
  maintenance.server_stream("Snapshot", &maintenance_service::on_snapshot);
}

runtime::task<unary_outcome> maintenance_service::status(const etcdserverpb::StatusRequest&) {
  const mvcc::MvccStore& store = member_.store();
  const raft_driver& driver = member_.driver();
  etcdserverpb::StatusResponse response;
  response.set_version(emulated_etcd_version);
  response.set_dbsize(store.size_bytes());
  response.set_dbsizeinuse(store.size_bytes());
  response.set_leader(driver.leader());
  response.set_raftindex(driver.committed_index());
  response.set_raftterm(driver.term());
  response.set_raftappliedindex(driver.applied_index());
  response.set_islearner(member_.is_learner());
  for (const auto& [member, type] : member_.applier().alarms())
    if (type == etcdserverpb::NOSPACE) response.add_errors("memberID:" + std::to_string(member) + " alarm:NOSPACE ");
  co_return stamped_reply(member_, response);
}

runtime::task<unary_outcome> maintenance_service::hash(const etcdserverpb::HashRequest&) {
  co_return hash_reply<etcdserverpb::HashResponse>(member_, 0);
}

runtime::task<unary_outcome> maintenance_service::hash_kv(const etcdserverpb::HashKVRequest& request) {
  co_return hash_reply<etcdserverpb::HashKVResponse>(member_, request.revision());
}

runtime::task<unary_outcome> maintenance_service::defragment(const etcdserverpb::DefragmentRequest&) {
  etcdserverpb::DefragmentResponse response;  // the in-memory store has nothing to defragment
  co_return stamped_reply(member_, response);
}

runtime::task<unary_outcome> maintenance_service::move_leader(const etcdserverpb::MoveLeaderRequest& request) {
  // etcd: only the leader moves leadership, to a voting member; the call returns once it has moved.
  raft_driver& driver = member_.driver();
  if (!driver.is_voter(request.targetid())) co_return failure(etcd_errors::bad_leader_transferee());
  if (!driver.is_leader()) co_return failure(etcd_errors::not_leader());
  if (request.targetid() != member_.identity().member_id) {
    driver.transfer_leadership(request.targetid());
    if (rpc_status moved = co_await wait_for_leader(request.targetid()); !moved.ok()) co_return failure(moved);
  }
  etcdserverpb::MoveLeaderResponse response;
  co_return stamped_reply(member_, response);
}

runtime::task<rpc_status> maintenance_service::wait_for_leader(uint64_t target) {
  const server_config& config = member_.config();
  const auto deadline = runtime::clock::now() + 2 * config.election_timeout + config.heartbeat_interval;
  while (member_.driver().leader() != target) {
    if (runtime::clock::now() >= deadline || member_.stopping()) co_return etcd_errors::timeout();
    if (co_await runtime::sleep_for(config.heartbeat_interval / 5) != 0) co_return etcd_errors::stopped();
  }
  co_return rpc_status{};
}

void maintenance_service::on_snapshot(const call_ref& call, std::string_view bytes) {
  etcdserverpb::SnapshotRequest request;
  if (!parse(request, bytes)) {
    call->finish(to_grpc(malformed()));
    return;
  }
  if (!background_.spawn(stream_snapshot(call))) call->finish(to_grpc(etcd_errors::stopped()));
}

// The call went away, or the server stops (then the client hears so, as from etcd).
bool maintenance_service::stream_gone(call_ref& call) const {
  if (member_.stopping() && call->alive()) call->finish(to_grpc(etcd_errors::stopped()));
  return member_.stopping() || !call->alive();
}

// The state at the start, serialized a slice per loop turn (writes go on meanwhile; the MVCC store
// skips their revisions), hashed for etcd's sha256 trailer and queued in etcd's 32 KiB blobs a few per
// turn, so a large state never stalls the member. The call going away or the server stopping ends it.
runtime::task<void> maintenance_service::stream_snapshot(call_ref call) {
  std::string sealed;
  sealed.reserve(size_t(std::max<int64_t>(member_.store().size_bytes(), 0)) + 4096);  // an upper bound: few regrowths
  bool serialized = co_await serialize_state(call, sealed);
  if (!serialized) co_return;
  snapshot_sealer sealer;
  for (size_t at = 0; at < sealed.size(); at += snapshot_slice_bytes) {
    sealer.update(std::string_view(sealed).substr(at, snapshot_slice_bytes));
    co_await runtime::yield();
    if (stream_gone(call)) co_return;
  }
  sealer.finish(sealed);
  co_await send_snapshot(call, sealed);
}

runtime::task<bool> maintenance_service::serialize_state(call_ref& call, std::string& sealed) {
  using step_result = mvcc::MvccStore::SnapshotStep;
  mvcc::MvccStore::Snapshotter snapshotter = member_.store().begin_snapshot(sealed);
  step_result step = step_result::more;
  while (!stream_gone(call) && (step = snapshotter.step(snapshot_slice_bytes)) == step_result::more) {
    co_await runtime::yield();
  }
  if (stream_gone(call)) co_return false;
  if (step == step_result::abandoned) {
    call->finish(net::grpc::status{net::grpc::status_code::unavailable,
                                   "etcdserver: snapshot abandoned: the member installed the leader's snapshot"});
    co_return false;
  }
  co_return true;
}

runtime::task<void> maintenance_service::send_snapshot(call_ref& call, const std::string& sealed) {
  size_t chunks_this_turn = 0;
  for (size_t offset = 0; offset < sealed.size(); offset += snapshot_chunk_bytes) {
    size_t n = std::min(snapshot_chunk_bytes, sealed.size() - offset);
    etcdserverpb::SnapshotResponse response;
    stamp_header(member_, response);
    response.set_remaining_bytes(sealed.size() - offset - n);
    response.set_blob(sealed.data() + offset, n);
    if (!call->write_message(response)) co_return;
    if (++chunks_this_turn == snapshot_chunks_per_turn) {
      chunks_this_turn = 0;
      co_await runtime::yield();
      if (stream_gone(call)) co_return;
    }
  }
  call->finish(net::grpc::status::success());
}

}  // namespace ringkv::server
