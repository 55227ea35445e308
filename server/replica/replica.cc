// server/replica/replica.cc — see replica.h: construction from the recovered state, the
// replicated_state the raft driver applies to, member records and asks applied from the log, and the
// peer transport kept equal to the member records.
#include "server/replica/replica.h"

#include <algorithm>
#include <cassert>
#include <random>
#include <stdexcept>

#include "net/peer/cluster_id.h"
#include "net/peer/peer_transport.h"
#include "runtime/reactor.h"
#include "runtime/spawn.h"
#include "runtime/when_all.h"
#include "runtime/log.h"
#include "server/common/server_metrics.h"
#include "server/replica/membership_join.h"
#include "server/replica/state_snapshot.h"

namespace ringkv::server {

namespace {

constexpr std::chrono::milliseconds leave_grace{500};  // a removed leader's last messages leave first

}  // namespace

runtime::clock::time_point request_deadline(const server_config& config) {
  return runtime::clock::now() + config.election_timeout * 2 + std::chrono::seconds(5);
}

namespace {

std::vector<raft::NodeId> voter_ids(const member_identity& identity) {
  std::vector<raft::NodeId> ids;
  for (const auto& member : identity.members) ids.push_back(member.id);
  return ids;  // sorted: every member writes the same bootstrap entry
}

bool leader_snapshot_decodes(const raft::Snapshot& snapshot) { return state_snapshot_decodes(snapshot.data.view()); }

raft::Config raft_config_for(const server_config& config, const member_identity& identity, raft::Index applied,
                             const storage::wal::wal_config& wal) {
  raft::Config rc;
  // What this member's WAL can store and its applier can decode; anything else is refused by raft.
  rc.max_entry_bytes = wal.entry_payload_bytes_max();
  rc.accept_snapshot = leader_snapshot_decodes;
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
    loaded->meta = raft::SnapshotMeta{snapshot->id.index, snapshot->id.term, snapshot_conf(snapshot->data(), identity)};
    const std::string_view payload = snapshot->data();  // the file's pages, mapped: no copy in memory
    loaded->data = raft::SharedBytes::adopt(reinterpret_cast<const uint8_t*>(payload.data()), payload.size(),
                                            [file = snapshot->file] {});
    state.snapshot = std::move(loaded);
  }
  for (auto& e : storage::wal::entries_after(recovered.entries, snapshot_index)) {
    state.entries.push_back(
        raft::Entry{e.term, e.index, raft::EntryType(e.kind), raft::SharedBytes::copy_of(std::string_view(e.payload))});
  }
  return state;
}

}  // namespace

replica::replica(const server_config& config, member_identity identity, storage::wal::write_ahead_log& wal,
                 storage::wal::snapshot_store& snapshots, storage::wal::recovered_state recovered,
                 std::optional<storage::wal::loaded_snapshot> snapshot)
    : config_(config),
      identity_(settle_identity(config, std::move(identity),
                                recovered.entries.empty() && recovered.state.term == 0 && !snapshot)),
      log_storage_(wal, snapshots),
      store_(mvcc::StoreConfig{int64_t(config.max_txn_ops),
                               // etcd's minimum lease TTL: 1.5 election timeouts, rounded up to seconds
                               std::max<int64_t>(1, (3 * config.election_timeout.count() / 2 + 999) / 1000),
                               1000, 20000, 65536}),
      applier_(store_, identity_.cluster_id, identity_.member_id, config.auth_token_ttl.count() * 1000),
      driver_(raft_config_for(config, identity_, snapshot ? snapshot->id.index : 0, wal.config()),
            persisted_from(recovered, snapshot, identity_),
            *this, log_storage_,
            raft_driver_limits{config.heartbeat_interval, std::chrono::milliseconds(5000) + 2 * config.election_timeout,
                        4096, 65536, config.snapshot_count}) {
  if (snapshot && !restore_state(snapshot->data(), snapshot->id.index))
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
  node_metrics().quota_backend_bytes.set(double(config.effective_quota_bytes()));
  metrics::global()
      .add_gauge("etcd_server_id", "Server or member ID in hexadecimal format. 1 for 'server_id' label.",
                 {{"server_id", [&] {
                    char hex[24];
                    std::snprintf(hex, sizeof hex, "%llx", (unsigned long long)identity_.member_id);
                    return std::string(hex);
                  }()}})
      .set(1);
}

runtime::task<void> replica::run() { co_await runtime::when_all(run_driver(), compaction_.run()); }

runtime::task<void> replica::run_driver() {
  co_await driver_.run();
  stopping_ = true;
  compaction_.stop();
}

void replica::stop() {
  stopping_ = true;
  driver_.stop();
}

runtime::task<void> replica::answer_member_ask(member_ask ask) {
  co_await driver_.propose(proposal_kind(membership_payload_kind), encode_member_ask(member_op::ask_answer, ask));
}

void replica::list_members(etcdserverpb::ResponseHeader* header,
                           google::protobuf::RepeatedPtrField<etcdserverpb::Member>* members) const {
  fill_header(header, applier_.ids(), store_.current_revision());
  for (const auto& [id, record] : members_.members()) {
    etcdserverpb::Member* member = members->Add();
    to_proto(record, member);
    if (id == identity_.member_id && record.name.empty()) {  // not published yet: we know ourselves
      member->set_name(config_.name);
      for (const auto& url : config_.advertise_client_urls) member->add_clienturls(url.url);
    }
  }
}

apply_result replica::apply_entry(const decoded_payload& payload, raft::Index index, raft::Term term) {
  if (uint8_t(payload.kind) == membership_payload_kind) return apply_member_change(payload, term);
  apply_result result = applier_.apply(payload, index, term);
  if (store_.compaction_unfinished()) compaction_.wake();
  return result;
}

void replica::skip_undecodable_entry(raft::Index index) {
  log::error("undecodable raft entry skipped", {{"index", index}});
}

void replica::entries_applied() {
  if (events_ != nullptr) events_->entries_applied();
}

void replica::leadership_changed(bool is_leader) {  // the leader owns lease expiry (etcd's lessor)
  if (is_leader) store_.lease_promote(lease_clock_ms(), config_.election_timeout.count());
  else store_.lease_demote();
}

snapshot_stepper replica::begin_snapshot(std::string& out) { return begin_state_snapshot(members_, applier_, out); }

bool replica::restore_snapshot(raft::Index index, std::string_view data) { return restore_state(data, index); }

runtime::task<apply_result> replica::propose(proposal_kind kind, std::string bytes) {
  // etcd: the raft request must fit --max-request-bytes
  if (bytes.size() > config_.max_request_bytes) co_return apply_result{etcd_errors::request_too_large(), {}, {}};
  co_return co_await driver_.propose(kind, std::move(bytes));
}

runtime::task<rpc_status> replica::propose_member_change(member_change change) {
  apply_result result = co_await driver_.propose(proposal_kind(membership_payload_kind), encode_member_change(change));
  co_return result.status;
}

// Asks the leader through the log (member_ask, membership.h) and waits for its answer, within the
// request timeout. An answer of "not leader" (leadership moved while it was checking) is asked again of
// the next leader, as etcd's forwarding retries.
runtime::task<rpc_status> replica::ask_leader_about(member_op op, uint64_t target) {
  const auto deadline = request_deadline(config_);
  while (!stopping_ && runtime::clock::now() < deadline) {
    ask_wait wait;
    const uint64_t nonce = next_ask_nonce_++;
    ask_waiters_[nonce] = &wait;
    member_ask ask{identity_.member_id, nonce, target, {}};
    apply_result proposed =
        co_await driver_.propose(proposal_kind(membership_payload_kind), encode_member_ask(op, ask));
    while (proposed.status.ok() && !wait.answered && !stopping_ && runtime::clock::now() < deadline) {
      if (co_await runtime::sleep_for(config_.heartbeat_interval) != 0) break;
    }
    ask_waiters_.erase(nonce);
    if (!proposed.status.ok()) co_return proposed.status;
    if (wait.answered && wait.status != etcd_errors::not_leader()) co_return wait.status;
  }
  co_return stopping_ ? etcd_errors::stopped() : etcd_errors::timeout();
}

apply_result replica::apply_member_ask(std::string_view message, raft::Term term) {
  auto decoded = decode_member_ask(message);
  if (!decoded) {
    log::error("undecodable membership ask skipped");
    return {etcd_errors::corrupt(), {}, {}};
  }
  auto& [op, ask] = *decoded;
  if (op != member_op::ask_answer) {
    if (driver_.is_leader() && term == driver_.term() && events_ != nullptr) events_->member_asked(op, std::move(ask));
  } else if (ask.asker == identity_.member_id) {
    if (auto waiting = ask_waiters_.find(ask.nonce); waiting != ask_waiters_.end()) {
      waiting->second->answered = true;
      waiting->second->status = std::move(ask.status);
      ask_waiters_.erase(waiting);
    }
  }
  return {};
}

void replica::heard_from(uint64_t member) {
  const auto now = runtime::clock::now();
  peer_activity& activity = peer_activity_[member];
  if (activity.last_heard == runtime::clock::time_point{} || now - activity.last_heard > config_.election_timeout)
    activity.active_since = now;  // a new streak: etcd's ActiveSince restarts with each connection
  activity.last_heard = now;
}

void replica::lost_contact(uint64_t member) { peer_activity_.erase(member); }

bool replica::active_since(uint64_t member, runtime::clock::time_point since) const {
  auto it = peer_activity_.find(member);
  if (it == peer_activity_.end()) return false;
  const auto now = runtime::clock::now();
  return now - it->second.last_heard <= config_.election_timeout && it->second.active_since <= since;
}

apply_result replica::apply_member_change(const decoded_payload& payload, raft::Term term) {
  if (!payload.message.empty() && is_member_ask_op(member_op(uint8_t(payload.message[0]))))
    return apply_member_ask(payload.message, term);
  std::optional<member_change> change = decode_member_change(payload.message);
  if (!change) {
    log::error("undecodable membership entry skipped");
    return {etcd_errors::corrupt(), {}, {}};
  }
  rpc_status status = members_.apply(*change);
  sync_peers();
  return {status, {}, {}};
}

void replica::apply_conf_change(const raft::ConfChange& change, raft::Index index) {
  std::vector<member_record> known;
  for (const auto& m : identity_.members) known.push_back(make_member(m.id, m.peer_urls, m.name));
  members_.apply_conf_change(change, known);
  if (change.type != raft::ConfChangeType::kBootstrap && change.node_ids.front() == second_voter_pending_)
    second_voter_pending_ = 0;
  if (change.type != raft::ConfChangeType::kBootstrap)
    log::info("applied a configuration change", {{"index", index}, {"type", uint64_t(change.type)},
                                                  log::hex_id("member-id", change.node_ids.front())});
  sync_peers();
  if (change.type == raft::ConfChangeType::kRemoveNode && change.node_ids.front() == identity_.member_id)
    leave_cluster();
}

bool replica::restore_state(std::string_view data, raft::Index index) {
  unwrapped_snapshot unwrapped = unwrap_snapshot(data);
  if (!unwrapped.valid) return false;
  if (events_ != nullptr) events_->state_replacing();
  if (!applier_.restore(unwrapped.state, index)) return false;
  if (store_.compaction_unfinished()) compaction_.wake();  // a restored state may hide history to release
  if (unwrapped.members) {
    members_ = std::move(*unwrapped.members);
  } else {  // a snapshot from before membership records: the initial members
    std::vector<uint64_t> ids;
    std::vector<member_record> known;
    for (const auto& m : identity_.members) {
      ids.push_back(m.id);
      known.push_back(make_member(m.id, m.peer_urls, m.name));
    }
    members_ = membership{};
    members_.bootstrap(ids, known);
  }
  sync_peers();
  if (members_.is_removed(identity_.member_id)) leave_cluster();
  return true;
}

void replica::sync_peers() {
  const member_record* self = members_.find(identity_.member_id);
  self_learner_ = self != nullptr && self->is_learner;
  if (transport_ == nullptr) {
    request_peers_if_needed();
    return;
  }
  std::map<uint64_t, std::string> wanted;
  auto want = [&](uint64_t id, const std::vector<std::string>& urls) {
    if (id != identity_.member_id && !urls.empty() && !members_.is_removed(id)) wanted.emplace(id, urls.front());
  };
  for (const auto& [id, record] : members_.members()) want(id, record.peer_urls);
  for (const auto& [id, record] : members_.staged()) want(id, record.peer_urls);
  // The members we started with (records win): needed while catching up, and after a restart whose log
  // names the other members only in entries not yet committed again (a cluster grown from one member).
  for (const auto& m : identity_.members) want(m.id, m.peer_urls);
  for (const auto& [id, url] : transport_peers_)
    if (!wanted.contains(id)) transport_->remove_peer(id);
  for (uint64_t id : members_.removed())
    if (id != identity_.member_id) transport_->mark_removed(id);
  for (const auto& [id, url] : wanted) {
    auto known = transport_peers_.find(id);
    if (known != transport_peers_.end() && known->second == url) continue;
    auto where = peer_endpoint(url);
    if (!where) {
      log::warn("member peer URL is not http://address:port; not reachable", {log::hex_id("member-id", id), {"url", url}});
      continue;
    }
    transport_->add_peer(id, *where, net::peer::tls_host_of_peer_url(url));
  }
  transport_peers_ = std::move(wanted);
}

// A member started alone has no transport; the first other member (a staged add is enough: the new
// member must be reachable before its conf change commits) starts it, at the next loop turn (not
// inside the apply that got here). A restart replaying that membership starts it the same way.
bool replica::has_other_members() const {
  auto other = [this](const auto& entry) { return entry.first != identity_.member_id; };
  return identity_.multi_member() || std::any_of(members_.members().begin(), members_.members().end(), other) ||
         std::any_of(members_.staged().begin(), members_.staged().end(), other);
}

void replica::request_peers_if_needed() {
  if (!peers_starter_ || peers_start_requested_ || stopping_ || !has_other_members()) return;
  peers_start_requested_ = true;
  if (!identity_.multi_member()) {  // remember the others' peer URLs for a restart (membership_join.h)
    auto note = [this](const member_record& record) {
      if (record.id != identity_.member_id) identity_.members.push_back({record.id, record.name, record.peer_urls});
    };
    for (const auto& [id, record] : members_.members()) note(record);
    for (const auto& [id, record] : members_.staged()) note(record);
    std::sort(identity_.members.begin(), identity_.members.end(),
              [](const cluster_member& a, const cluster_member& b) { return a.id < b.id; });
    try {
      persist_identity(config_, identity_);
    } catch (const std::exception& error) {
      log::error("cannot persist the member's identity; a restart may not find the other members",
                 {{"error", error.what()}});
    }
  }
  runtime::spawn([](replica* self) -> runtime::task<void> {
    if (!self->stopping_) {
      log::info("the cluster has other members now; starting the peer transport");
      self->peers_starter_();
    }
    co_return;
  }(this));
}

void replica::leave_cluster() {
  if (leaving_) return;
  leaving_ = true;
  log::error("the member has been permanently removed from the cluster",
             {log::hex_id("local-member-id", identity_.member_id), log::hex_id("cluster-id", identity_.cluster_id)});
  runtime::spawn([](std::chrono::milliseconds grace) -> runtime::task<void> {
    co_await runtime::sleep_for(grace);
    runtime::request_stop();
  }(leave_grace));
}

std::string replica::members_query() const {
  etcdserverpb::MemberListResponse response;
  list_members(response.mutable_header(), response.mutable_members());
  for (const auto& [id, record] : members_.staged())  // a second voter whose conf change waits for it
    if (driver_.is_voter(id) && !members_.find(id)) to_proto(record, response.add_members());
  if (members_.empty()) {  // nothing applied yet: the members this one started with
    for (const auto& m : identity_.members) {
      auto* out = response.add_members();
      out->set_id(m.id);
      out->set_name(m.name);
      for (const auto& url : m.peer_urls) out->add_peerurls(url);
    }
  }
  return response.SerializeAsString();
}

}  // namespace ringkv::server
