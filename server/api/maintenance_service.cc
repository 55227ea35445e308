// server/api/maintenance_service.cc — see maintenance_service.h.
#include "server/api/maintenance_service.h"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <exception>

#include "runtime/log.h"
#include "runtime/timer.h"
#include "server/api/service_support.h"
#include "server/common/emulated_version.h"
#include "storage/etcd_snapshot/writer.h"

namespace ringkv::server {

using net::grpc::call_ref;
using namespace unary;

namespace {

constexpr size_t snapshot_chunk_bytes = 32 * 1024;  // etcd sends 32 KiB blobs

// What the snapshot file says besides the store: the member records, the removed ids, the applied
// index as etcd's consistent_index, and the auth store (users, roles, enabled flag, auth revision).
storage::etcd_snapshot::ClusterState snapshot_cluster_state(const replica& member) {
  storage::etcd_snapshot::ClusterState cluster;
  for (const auto& [id, record] : member.members().members())
    cluster.members.push_back({id, record.name, record.peer_urls, record.client_urls, record.is_learner});
  const auto& removed = member.members().removed();
  cluster.removed_member_ids.assign(removed.begin(), removed.end());
  cluster.consistent_index = member.driver().applied_index();
  const auth::auth_store& auth = member.applier().auth();
  cluster.auth_enabled = auth.enabled();
  cluster.auth_revision = auth.revision();
  cluster.auth_users = auth.user_records();
  cluster.auth_roles = auth.role_records();
  return cluster;
}

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
  raft_driver& driver = member_.driver();
  co_await driver.soft_state_changed().wait_until([&] { return driver.leader() == target || member_.stopping(); },
                                                  runtime::clock::now() + 2 * config.election_timeout + config.heartbeat_interval);
  if (driver.leader() == target) co_return rpc_status{};
  co_return member_.stopping() ? etcd_errors::stopped() : etcd_errors::timeout();
}

struct maintenance_service::snapshot_stream {
  std::string pending;      // pages made and not sent yet: at most one step's output and a blob
  uint64_t sent_bytes = 0;  // blob bytes handed to the call
  bool aborted = false;     // the store was replaced: the writer is gone
  std::unique_ptr<storage::etcd_snapshot::SnapshotWriter> writer;  // reads the live store; appends to pending
  runtime::notifier wake;   // the call drained or went away, the stream was aborted, or the server stops
  runtime::clock::time_point started = runtime::clock::now();
  size_t steps = 0;                          // writer steps taken (each one loop turn on the raft shard)
  std::chrono::nanoseconds longest_step{0};  // the most CPU time one step took on the shard
  std::chrono::nanoseconds setup{0};         // making the writer (its revision cursor, the small buckets)
};

void maintenance_service::on_snapshot(const call_ref& call, std::string_view bytes) {
  etcdserverpb::SnapshotRequest request;
  if (!parse(request, bytes)) {
    call->finish(to_grpc(malformed()));
    return;
  }
  if (snapshot_streams_ >= snapshot_streams_max) {
    call->finish(to_grpc(etcd_errors::too_many_requests()));
    return;
  }
  ++snapshot_streams_;  // the stream's coroutine gives it back when it ends
  if (!background_.spawn(stream_snapshot(call))) {
    --snapshot_streams_;
    call->finish(to_grpc(etcd_errors::stopped()));
  }
}

void maintenance_service::abort_snapshot_streams() {
  for (snapshot_stream* stream : active_streams_) {
    stream->writer.reset();  // before the store changes under its cursor
    stream->aborted = true;
    stream->wake.notify();
  }
}

void maintenance_service::stop_snapshot_streams() {
  for (snapshot_stream* stream : active_streams_) stream->wake.notify();
}

// The call went away, or the server stops (then the client hears so, as from etcd).
bool maintenance_service::stream_gone(call_ref& call) const {
  if (member_.stopping() && call->alive()) call->finish(to_grpc(etcd_errors::stopped()));
  return member_.stopping() || !call->alive();
}

// etcd 3.4's snapshot of the state as of now, made and sent a slice per loop turn (see the header).
runtime::task<void> maintenance_service::stream_snapshot(call_ref call) {
  snapshot_stream stream;
  struct registration {
    maintenance_service& self;
    snapshot_stream& stream;
    net::grpc::call_ref& call;
    ~registration() {
      call->set_drain_callback(nullptr);  // the call may outlive this frame
      call->set_cancel_callback(nullptr);
      std::erase(self.active_streams_, &stream);
      --self.snapshot_streams_;
    }
  } registered{*this, stream, call};
  if (stream_gone(call)) co_return;
  active_streams_.push_back(&stream);
  call->set_drain_callback([&stream] { stream.wake.notify(); });
  call->set_cancel_callback([&stream] { stream.wake.notify(); });
  try {
    stream.writer = std::make_unique<storage::etcd_snapshot::SnapshotWriter>(
        member_.store(), snapshot_cluster_state(member_), [&stream](std::string_view pages) { stream.pending.append(pages); });
    stream.setup = runtime::clock::now() - stream.started;
    while (!stream_gone(call)) {
      if (stream.aborted) {
        call->finish(net::grpc::status{net::grpc::status_code::unavailable,
                                       "etcdserver: snapshot aborted: the member installed the leader's snapshot"});
        co_return;
      }
      if (call->queued_output_bytes() > snapshot_stream_buffer_bytes_limit) {  // the reader is behind
        co_await stream.wake;  // then the loop re-checks why it woke
        continue;
      }
      if (snapshot_turn(call, stream)) {
        call->finish(net::grpc::status::success());
        log_snapshot_sent(stream);
        co_return;
      }
      co_await runtime::yield();
    }
  } catch (const std::exception& e) {  // a writer contract broken: a bug, reported rather than a bad file
    if (call->alive()) call->finish(net::grpc::status{net::grpc::status_code::internal,
                                                      std::string("etcdserver: snapshot failed: ") + e.what()});
  }
}

namespace {
// CPU time of this thread: what a step costs the shard, whatever else the machine runs meanwhile.
std::chrono::nanoseconds thread_cpu_now() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}
}  // namespace

bool maintenance_service::snapshot_turn(call_ref& call, snapshot_stream& stream) {
  const auto began = thread_cpu_now();
  bool done = stream.writer->step(snapshot_stream_step_bytes);
  send_blobs(call, stream, done);
  ++stream.steps;
  stream.longest_step = std::max(stream.longest_step, thread_cpu_now() - began);
  return done;
}

// As etcd's "sent database snapshot to writer", with what the stream cost the raft shard's loop.
void maintenance_service::log_snapshot_sent(const snapshot_stream& stream) {
  using std::chrono::duration_cast;
  using std::chrono::microseconds;
  using std::chrono::milliseconds;
  log::info("sent database snapshot to writer",
            {{"bytes", stream.sent_bytes}, {"took-ms", duration_cast<milliseconds>(runtime::clock::now() - stream.started).count()},
             {"setup-us", duration_cast<microseconds>(stream.setup).count()}, {"steps", stream.steps},
             {"longest-step-cpu-us", duration_cast<microseconds>(stream.longest_step).count()}});
}

// Whole 32 KiB blobs from `pending` (and the short last one once the file is complete); remaining_bytes
// counts what follows each blob, as etcd's does (the file's size is known once the writer planned it).
void maintenance_service::send_blobs(call_ref& call, snapshot_stream& stream, bool last) {
  const uint64_t file_bytes = stream.writer->file_bytes();
  size_t at = 0;
  while (stream.pending.size() - at >= snapshot_chunk_bytes || (last && at < stream.pending.size())) {
    size_t n = std::min(snapshot_chunk_bytes, stream.pending.size() - at);
    stream.sent_bytes += n;
    etcdserverpb::SnapshotResponse response;
    stamp_header(member_, response);
    response.set_remaining_bytes(file_bytes > stream.sent_bytes ? file_bytes - stream.sent_bytes : 0);
    response.set_blob(stream.pending.data() + at, n);
    if (!call->write_message(response)) return;
    at += n;
  }
  stream.pending.erase(0, at);
}

}  // namespace ringkv::server
