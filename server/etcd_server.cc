// server/etcd_server.cc — construction, the KV service, Cluster and Maintenance (see etcd_server.h).
#include "server/etcd_server.h"

#include <functional>

#include "runtime/spawn.h"
#include "runtime/timer.h"
#include "server/http_endpoints.h"
#include "server/log.h"
#include "server/server_metrics.h"
#include "server/snapshot_seal.h"
#include "server/validate.h"

namespace ringkv::server {

using net::grpc::call_ref;

net::grpc::status to_grpc(const rpc_status& status) {
  return net::grpc::status{net::grpc::status_code(uint8_t(status.code)), status.message};
}

member_identity derive_identity(const server_config& config) {
  std::string member_key = config.name;
  for (const auto& url : config.initial_advertise_peer_urls) member_key += "|" + url.url;
  std::string cluster_key = config.initial_cluster_token;
  for (const auto& [name, urls] : config.initial_cluster)
    for (const auto& url : urls) cluster_key += "|" + name + "=" + url;
  member_identity identity;
  identity.member_id = std::hash<std::string>{}(member_key) | 1;  // never 0 (raft's "nobody")
  identity.cluster_id = std::hash<std::string>{}(cluster_key) | 1;
  return identity;
}

namespace {

raft::Config raft_config_for(const server_config& config, const member_identity& identity) {
  raft::Config rc;
  rc.id = identity.member_id;
  rc.heartbeat_ticks = 1;
  rc.election_ticks = uint32_t(config.election_timeout / config.heartbeat_interval);
  rc.random_seed = identity.member_id;
  rc.bootstrap_voters = {identity.member_id};
  return rc;
}

raft::PersistedState persisted_from(const storage::wal::recovered_state& recovered) {
  raft::PersistedState state;
  state.hard_state = {recovered.state.term, recovered.state.vote, recovered.state.commit};
  for (const auto& e : recovered.entries) {
    if (e.index <= recovered.snapshot.index) continue;
    state.entries.push_back(
        raft::Entry{e.term, e.index, raft::EntryType(e.kind), raft::SharedBytes::copy_of(std::string_view(e.payload))});
  }
  return state;
}

template <typename Message>
bool parse_or_fail(const call_ref& call, std::string_view bytes, Message& message) {
  if (message.ParseFromArray(bytes.data(), int(bytes.size()))) return true;
  call->finish(net::grpc::malformed_request_status("proto: cannot parse invalid wire-format data"));
  return false;
}

}  // namespace

etcd_server::etcd_server(const server_config& config, member_identity identity,
                         storage::wal::write_ahead_log& wal, storage::wal::recovered_state recovered)
    : config_(config),
      identity_(identity),
      wal_(wal),
      store_(mvcc::StoreConfig{int64_t(config.max_txn_ops),
                               // etcd's minimum lease TTL: 1.5 election timeouts, rounded up to seconds
                               std::max<int64_t>(1, (3 * config.election_timeout.count() / 2 + 999) / 1000),
                               1000, 20000, 65536}),
      applier_(store_, identity.cluster_id, identity.member_id),
      node_(raft_config_for(config, identity), persisted_from(recovered),
            node_hooks{
                [this](const decoded_payload& payload, raft::Index index, raft::Term term) {
                  return applier_.apply(payload, index, term);
                },
                [](raft::Index index) {
                  log::error("undecodable raft entry skipped", {{"index", index}});
                },
                [this](const std::optional<raft::HardState>& hs, std::span<const raft::Entry> entries) {
                  std::vector<storage::wal::entry_view> views;
                  views.reserve(entries.size());
                  size_t bytes = 0;
                  for (const auto& e : entries) {
                    views.push_back({e.index, e.term, uint32_t(e.type),
                                     std::string_view(reinterpret_cast<const char*>(e.data.data()), e.data.size())});
                    bytes += e.data.size();
                  }
                  node_metrics().wal_write_bytes.inc(bytes);
                  std::optional<storage::wal::hard_state> wal_hs;
                  if (hs) wal_hs = storage::wal::hard_state{hs->term, hs->vote, hs->commit};
                  return wal_.append(views, wal_hs);
                },
                [this] { pump_watchers(); },
                [this](bool leader) {  // the leader owns lease expiry (etcd's lessor promote/demote)
                  if (leader) store_.lease_promote(lease_clock_ms(), config_.election_timeout.count());
                  else store_.lease_demote();
                },
            },
            node_limits{config.heartbeat_interval, std::chrono::milliseconds(5000) + 2 * config.election_timeout}) {
  node_metrics().quota_backend_bytes.set(double(config.effective_quota_bytes()));
  metrics::global()
      .add_gauge("etcd_server_id", "Server or member ID in hexadecimal format. 1 for 'server_id' label.",
                 {{"server_id", [&] {
                    char hex[24];
                    std::snprintf(hex, sizeof hex, "%llx", (unsigned long long)identity.member_id);
                    return std::string(hex);
                  }()}})
      .set(1);
}

etcd_server::~etcd_server() = default;

bool etcd_server::healthy() const {
  return node_.leader() != raft::kNoNode && !applier_.nospace_alarm();
}

void etcd_server::stop() {
  stopping_ = true;
  node_.stop();
}

runtime::task<void> etcd_server::run() {
  runtime::spawn(lease_housekeeping());
  co_await node_.run();
  stopping_ = true;
  while (lease_task_running_) co_await runtime::sleep_for(std::chrono::milliseconds(10));
}

void etcd_server::register_services(net::grpc::service_registry& registry) {
  auto unary = [&](const char* path, void (etcd_server::*handler)(const call_ref&, std::string_view)) {
    registry.add_request_method(path, [this, handler](const call_ref& call, std::string_view bytes) {
      (this->*handler)(call, bytes);
    });
  };
  unary("/etcdserverpb.KV/Range", &etcd_server::on_range);
  unary("/etcdserverpb.KV/Put", &etcd_server::on_put);
  unary("/etcdserverpb.KV/DeleteRange", &etcd_server::on_delete_range);
  unary("/etcdserverpb.KV/Txn", &etcd_server::on_txn);
  unary("/etcdserverpb.KV/Compact", &etcd_server::on_compact);
  unary("/etcdserverpb.Lease/LeaseGrant", &etcd_server::on_lease_grant);
  unary("/etcdserverpb.Lease/LeaseRevoke", &etcd_server::on_lease_revoke);
  unary("/etcdserverpb.Lease/LeaseTimeToLive", &etcd_server::on_lease_time_to_live);
  unary("/etcdserverpb.Lease/LeaseLeases", &etcd_server::on_lease_leases);
  registry.add_stream_method("/etcdserverpb.Lease/LeaseKeepAlive",
                             [this](const call_ref& call) { on_lease_keep_alive(call); });
  registry.add_stream_method("/etcdserverpb.Watch/Watch", [this](const call_ref& call) { on_watch(call); });
  unary("/etcdserverpb.Cluster/MemberList", &etcd_server::on_member_list);
  unary("/etcdserverpb.Maintenance/Status", &etcd_server::on_status);
  unary("/etcdserverpb.Maintenance/Alarm", &etcd_server::on_alarm);
  unary("/etcdserverpb.Maintenance/Hash", &etcd_server::on_hash);
  unary("/etcdserverpb.Maintenance/HashKV", &etcd_server::on_hash_kv);
  unary("/etcdserverpb.Maintenance/Snapshot", &etcd_server::on_snapshot);
  unary("/etcdserverpb.Maintenance/Defragment", &etcd_server::on_defragment);
  unary("/etcdserverpb.Maintenance/MoveLeader", &etcd_server::on_move_leader);
}

// ---- KV ----

void etcd_server::answer_range(const call_ref& call, const etcdserverpb::RangeRequest& request) {
  node_metrics().mvcc_range.inc();
  auto result = store_.range_view(from_proto(request));
  if (!result.ok()) {
    call->finish(to_grpc(to_status(result.error())));
    return;
  }
  etcdserverpb::RangeResponse response;
  to_proto(result.value(), applier_.ids(), &response);
  call->respond_message(response);
}

runtime::task<void> etcd_server::range_after_barrier(call_ref call, etcdserverpb::RangeRequest request) {
  rpc_status barrier = co_await node_.read_barrier();
  if (!call->alive()) co_return;
  if (!barrier.ok()) {
    call->finish(to_grpc(barrier));
    co_return;
  }
  answer_range(call, request);
}

void etcd_server::on_range(const call_ref& call, std::string_view bytes) {
  etcdserverpb::RangeRequest request;
  if (!parse_or_fail(call, bytes, request)) return;
  if (auto s = check_range(request); !s.ok()) {
    call->finish(to_grpc(s));
    return;
  }
  if (request.serializable()) {
    answer_range(call, request);
    return;
  }
  runtime::spawn(range_after_barrier(call, std::move(request)));
}

bool etcd_server::reject_if_no_space(const call_ref& call, int64_t cost) {
  if (!applier_.nospace_alarm() && store_.quota_available(cost, config_.effective_quota_bytes())) return false;
  if (!applier_.nospace_alarm()) {
    // Raise NOSPACE through raft, as etcd does, so it survives restarts.
    etcdserverpb::AlarmRequest alarm;
    alarm.set_action(etcdserverpb::AlarmRequest::ACTIVATE);
    alarm.set_memberid(identity_.member_id);
    alarm.set_alarm(etcdserverpb::NOSPACE);
    log::warn("database space exceeded; raising NOSPACE alarm",
              {{"quota-bytes", config_.effective_quota_bytes()}, {"size-bytes", store_.size_bytes()}});
    runtime::spawn([](node& n, std::string bytes) -> runtime::task<void> {
      co_await n.propose(proposal_kind::alarm, std::move(bytes));
    }(node_, alarm.SerializeAsString()));
  }
  call->finish(to_grpc(etcd_errors::no_space()));
  return true;
}

runtime::task<void> etcd_server::propose_and_reply(call_ref call, proposal_kind kind, std::string bytes) {
  if (bytes.size() > config_.max_request_bytes) {  // etcd: the raft request must fit --max-request-bytes
    call->finish(to_grpc(etcd_errors::request_too_large()));
    co_return;
  }
  apply_result result = co_await node_.propose(kind, std::move(bytes));
  if (!call->alive()) co_return;
  if (!result.status.ok()) {
    call->finish(to_grpc(result.status));
    co_return;
  }
  call->respond(result.response);
}

void etcd_server::on_put(const call_ref& call, std::string_view bytes) {
  etcdserverpb::PutRequest request;
  if (!parse_or_fail(call, bytes, request)) return;
  if (auto s = check_put(request); !s.ok()) {
    call->finish(to_grpc(s));
    return;
  }
  if (reject_if_no_space(call, mvcc::MvccStore::quota_cost(from_proto(request)))) return;
  node_metrics().mvcc_put.inc();
  runtime::spawn(propose_and_reply(call, proposal_kind::put, std::string(bytes)));
}

void etcd_server::on_delete_range(const call_ref& call, std::string_view bytes) {
  etcdserverpb::DeleteRangeRequest request;
  if (!parse_or_fail(call, bytes, request)) return;
  if (auto s = check_delete_range(request); !s.ok()) {
    call->finish(to_grpc(s));
    return;
  }
  node_metrics().mvcc_delete.inc();
  runtime::spawn(propose_and_reply(call, proposal_kind::delete_range, std::string(bytes)));
}

runtime::task<void> etcd_server::read_only_txn(call_ref call, std::string bytes) {
  rpc_status barrier = co_await node_.read_barrier();
  if (!call->alive()) co_return;
  if (!barrier.ok()) {
    call->finish(to_grpc(barrier));
    co_return;
  }
  etcdserverpb::TxnRequest request;
  request.ParseFromString(bytes);
  auto result = store_.txn(from_proto(request));  // no writes: the store's state is unchanged
  if (!result.ok()) {
    call->finish(to_grpc(to_status(result.error())));
    co_return;
  }
  etcdserverpb::TxnResponse response;
  to_proto(result.value(), applier_.ids(), &response);
  call->respond_message(response);
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

void etcd_server::on_txn(const call_ref& call, std::string_view bytes) {
  etcdserverpb::TxnRequest request;
  if (!parse_or_fail(call, bytes, request)) return;
  if (auto s = check_txn(request, config_.max_txn_ops); !s.ok()) {
    call->finish(to_grpc(s));
    return;
  }
  node_metrics().mvcc_txn.inc();
  if (!txn_writes(request)) {  // read-only txns are served after a ReadIndex, like etcd
    runtime::spawn(read_only_txn(call, std::string(bytes)));
    return;
  }
  if (reject_if_no_space(call, mvcc::MvccStore::quota_cost(from_proto(request)))) return;
  runtime::spawn(propose_and_reply(call, proposal_kind::txn, std::string(bytes)));
}

void etcd_server::on_compact(const call_ref& call, std::string_view bytes) {
  etcdserverpb::CompactionRequest request;
  if (!parse_or_fail(call, bytes, request)) return;
  runtime::spawn(propose_and_reply(call, proposal_kind::compaction, std::string(bytes)));
}

// ---- Cluster and Maintenance ----

etcdserverpb::Member etcd_server::self_member() const {
  etcdserverpb::Member member;
  member.set_id(identity_.member_id);
  member.set_name(config_.name);
  for (const auto& url : config_.initial_advertise_peer_urls) member.add_peerurls(url.url);
  for (const auto& url : config_.advertise_client_urls) member.add_clienturls(url.url);
  return member;
}

void etcd_server::on_member_list(const call_ref& call, std::string_view bytes) {
  etcdserverpb::MemberListRequest request;
  if (!parse_or_fail(call, bytes, request)) return;
  etcdserverpb::MemberListResponse response;
  fill_header(response.mutable_header(), applier_.ids(), store_.current_revision());
  *response.add_members() = self_member();
  call->respond_message(response);
}

void etcd_server::on_status(const call_ref& call, std::string_view bytes) {
  etcdserverpb::StatusRequest request;
  if (!parse_or_fail(call, bytes, request)) return;
  etcdserverpb::StatusResponse response;
  fill_header(response.mutable_header(), applier_.ids(), store_.current_revision());
  response.set_version(emulated_etcd_version);
  response.set_dbsize(store_.size_bytes());
  response.set_dbsizeinuse(store_.size_bytes());
  response.set_leader(node_.leader());
  response.set_raftindex(node_.committed_index());
  response.set_raftterm(node_.term());
  response.set_raftappliedindex(node_.applied_index());
  for (const auto& [member, type] : applier_.alarms())
    if (type == etcdserverpb::NOSPACE) response.add_errors("memberID:" + std::to_string(member) + " alarm:NOSPACE ");
  call->respond_message(response);
}

void etcd_server::on_alarm(const call_ref& call, std::string_view bytes) {
  etcdserverpb::AlarmRequest request;
  if (!parse_or_fail(call, bytes, request)) return;
  runtime::spawn(propose_and_reply(call, proposal_kind::alarm, std::string(bytes)));
}

void etcd_server::on_hash(const call_ref& call, std::string_view bytes) {
  etcdserverpb::HashRequest request;
  if (!parse_or_fail(call, bytes, request)) return;
  auto result = store_.hash_kv(0);
  if (!result.ok()) {
    call->finish(to_grpc(to_status(result.error())));
    return;
  }
  etcdserverpb::HashResponse response;
  fill_header(response.mutable_header(), applier_.ids(), result->header_revision);
  response.set_hash(result->hash);
  call->respond_message(response);
}

void etcd_server::on_hash_kv(const call_ref& call, std::string_view bytes) {
  etcdserverpb::HashKVRequest request;
  if (!parse_or_fail(call, bytes, request)) return;
  auto result = store_.hash_kv(request.revision());
  if (!result.ok()) {
    call->finish(to_grpc(to_status(result.error())));
    return;
  }
  etcdserverpb::HashKVResponse response;
  fill_header(response.mutable_header(), applier_.ids(), result->header_revision);
  response.set_hash(result->hash);
  response.set_compact_revision(result->compact_revision);
  call->respond_message(response);
}

void etcd_server::on_snapshot(const call_ref& call, std::string_view bytes) {
  etcdserverpb::SnapshotRequest request;
  if (!parse_or_fail(call, bytes, request)) return;
  constexpr size_t chunk_bytes = 32 * 1024;  // etcd sends 32 KiB blobs
  std::string sealed = seal_snapshot(store_.snapshot());
  for (size_t offset = 0; offset < sealed.size(); offset += chunk_bytes) {
    size_t n = std::min(chunk_bytes, sealed.size() - offset);
    etcdserverpb::SnapshotResponse response;
    fill_header(response.mutable_header(), applier_.ids(), store_.current_revision());
    response.set_remaining_bytes(sealed.size() - offset - n);
    response.set_blob(sealed.data() + offset, n);
    if (!call->write_message(response)) return;
  }
  call->finish(net::grpc::status::success());
}

void etcd_server::on_defragment(const call_ref& call, std::string_view bytes) {
  etcdserverpb::DefragmentRequest request;
  if (!parse_or_fail(call, bytes, request)) return;
  etcdserverpb::DefragmentResponse response;  // the in-memory store has nothing to defragment
  fill_header(response.mutable_header(), applier_.ids(), store_.current_revision());
  call->respond_message(response);
}

void etcd_server::on_move_leader(const call_ref& call, std::string_view bytes) {
  etcdserverpb::MoveLeaderRequest request;
  if (!parse_or_fail(call, bytes, request)) return;
  if (request.targetid() != identity_.member_id) {
    call->finish(to_grpc(etcd_errors::bad_leader_transferee()));
    return;
  }
  etcdserverpb::MoveLeaderResponse response;  // already the leader
  fill_header(response.mutable_header(), applier_.ids(), store_.current_revision());
  call->respond_message(response);
}

}  // namespace ringkv::server
