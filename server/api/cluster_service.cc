// server/api/cluster_service.cc — etcd's Cluster service (MemberList/Add/Remove/Update/Promote), the
// member's "publish" of its name and client URLs, and keeping the peer transport equal to the
// replicated member records (server/membership.h).
//
//   MemberAdd ─ checks ─> stage_add entry {id, peer URLs} ─applied─> conf change AddVoter/AddLearner(id)
//             ─applied─> member record (peer URLs from the staged entry) ─> reply {member, members}
//   MemberRemove ─> conf change RemoveNode(id) ─applied─> record gone, id refused by the transport;
//                   the removed member stops ("the member has been permanently removed ...")
//   MemberUpdate ─> update_peer_urls entry          MemberPromote ─> conf change AddVoter(learner id)
//   MemberPromote on a follower ─> promote_ask entry ─> the leader promotes, then an ask_answer entry
//   MemberAdd/Remove on a follower ─> reconfig_check_ask entry ─> the leader checks its connections
#include <xxhash.h>

#include <algorithm>
#include <chrono>

#include "net/peer/cluster_id.h"
#include "net/peer/peer_transport.h"
#include "runtime/reactor.h"
#include "runtime/spawn.h"
#include "runtime/timer.h"
#include "server/api/etcd_server.h"
#include "runtime/log.h"
#include "server/replica/membership_join.h"
#include "server/common/unary_helpers.h"

namespace ringkv::server {

using namespace unary;

namespace {

constexpr std::chrono::milliseconds publish_retry_interval{200};
constexpr std::chrono::milliseconds leave_grace{500};  // a removed leader's last messages leave first
constexpr double learner_ready_fraction = 0.9;          // etcd's readyPercent
constexpr std::chrono::seconds reconfig_health_interval{5};  // etcd's HealthInterval

std::vector<std::string> urls_of(const google::protobuf::RepeatedPtrField<std::string>& urls) {
  return {urls.begin(), urls.end()};
}

std::vector<std::string> urls_of(const std::vector<url_endpoint>& urls) {
  std::vector<std::string> out;
  for (const auto& url : urls) out.push_back(url.url);
  return out;
}

// etcd accepts scheme://host:port URLs; we reach peers by IP address (net/peer has no name resolution).
bool valid_peer_urls(const std::vector<std::string>& urls) {
  if (urls.empty()) return false;
  return std::all_of(urls.begin(), urls.end(),
                     [](const std::string& url) { return peer_endpoint(url).has_value(); });
}

// etcd's request timeout (5 s + 2 election timeouts) from now.
runtime::clock::time_point request_deadline(const server_config& config) {
  return runtime::clock::now() + config.election_timeout * 2 + std::chrono::seconds(5);
}

struct membership_guard {
  etcd_server* server;
  void (etcd_server::*end)();
  ~membership_guard() { (server->*end)(); }
};

}  // namespace

// ---- replies ----

template <typename Response>
apply_result etcd_server::members_reply(Response& response) const {
  fill_header(response.mutable_header(), applier_.ids(), store_.current_revision());
  for (const auto& [id, record] : members_.members()) {
    etcdserverpb::Member* member = response.add_members();
    to_proto(record, member);
    if (id == identity_.member_id && record.name.empty()) {  // not published yet: we know ourselves
      member->set_name(config_.name);
      for (const auto& url : config_.advertise_client_urls) member->add_clienturls(url.url);
    }
  }
  return reply(response);
}

std::string etcd_server::members_query() const {
  etcdserverpb::MemberListResponse response;
  members_reply(response);
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

runtime::task<unary_outcome> etcd_server::member_list(std::string bytes) {
  etcdserverpb::MemberListRequest request;
  if (!parse(request, bytes)) co_return failure(malformed());
  etcdserverpb::MemberListResponse response;
  co_return members_reply(response);
}

// ---- changes ----

runtime::task<rpc_status> etcd_server::begin_membership_change() {
  const auto deadline = request_deadline(config_);
  while (membership_busy_) {
    if (stopping_ || runtime::clock::now() >= deadline) co_return etcd_errors::timeout();
    if (co_await runtime::sleep_for(config_.heartbeat_interval) != 0) co_return etcd_errors::stopped();
  }
  membership_busy_ = true;
  co_return rpc_status{};
}

runtime::task<rpc_status> etcd_server::propose_member_change(member_change change) {
  apply_result result = co_await driver_.propose(proposal_kind(membership_payload_kind), encode_member_change(change));
  co_return result.status;
}

runtime::task<unary_outcome> etcd_server::member_add(std::string bytes) {
  etcdserverpb::MemberAddRequest request;
  if (!parse(request, bytes)) co_return failure(malformed());
  std::vector<std::string> urls = urls_of(request.peerurls());
  if (!valid_peer_urls(urls)) co_return failure(member_errors::bad_urls());
  if (rpc_status s = co_await begin_membership_change(); !s.ok()) co_return failure(s);
  membership_guard guard{this, &etcd_server::end_membership_change};
  const bool learner = request.islearner();
  if (!learner && (!members_.ready_to_add_voter() || second_voter_pending_))  // 2 members, 1 started
    co_return failure(member_errors::not_enough_started());
  if (rpc_status s = co_await check_reconfig_health(0); !s.ok()) co_return failure(s);
  if (members_.peer_url_taken(urls)) co_return failure(member_errors::peer_url_exists());
  if (learner && members_.learner_count() >= learners_max) co_return failure(member_errors::too_many_learners());
  // etcd: a hash of the peer URLs, the cluster and the time; never 0, never a known or removed id.
  std::string key;
  for (const auto& url : urls) key += url + '\n';
  uint64_t id = 0;
  for (uint64_t salt = uint64_t(std::chrono::system_clock::now().time_since_epoch().count());
       id == 0 || members_.find(id) || members_.is_removed(id) || id == identity_.member_id; ++salt) {
    std::string text = key + std::to_string(identity_.cluster_id) + '/' + std::to_string(salt);
    id = XXH3_64bits(text.data(), text.size());
  }
  member_record record = make_member(id, urls);
  record.is_learner = learner;
  member_change stage{member_op::stage_add, record};  // named: g++ 12 double-destroys braced temporaries
  if (rpc_status s = co_await propose_member_change(stage); !s.ok()) co_return failure(s);
  raft::ConfChange change{learner ? raft::ConfChangeType::kAddLearner : raft::ConfChangeType::kAddVoter, {id}};
  if (!learner && voters_are_only_self()) {
    if (rpc_status s = co_await add_second_voter(change); !s.ok()) co_return failure(s);
  } else {
    if (rpc_status s = co_await driver_.propose_conf_change(change); !s.ok()) co_return failure(s);
  }
  log::info("added member", {log::hex_id("added-member-id", id), {"added-member-peer-urls", urls}, {"is-learner", learner}});
  etcdserverpb::MemberAddResponse response;
  to_proto(members_.find(id) ? *members_.find(id) : record, response.mutable_member());
  members_reply(response);
  if (!members_.find(id)) to_proto(record, response.add_members());  // etcdctl prints it in ETCD_INITIAL_CLUSTER
  co_return reply(response);
}

bool etcd_server::voters_are_only_self() const {
  auto voter = [](const auto& entry) { return !entry.second.is_learner; };
  const member_record* self = members_.find(identity_.member_id);
  return self != nullptr && !self->is_learner &&
         std::count_if(members_.members().begin(), members_.members().end(), voter) == 1;
}

// A cluster of one voter growing to two. etcd commits that conf change with the old quorum (its raft
// applies membership when committed), then waits for the new member. Our raft counts a voter from the
// moment its conf change is in the log, so the change commits only once the new member runs and has
// caught up - and the new member can only start once `member add` has answered. So the answer comes
// as soon as the change is in the leader's log (from then on, as in etcd, nothing commits without the
// new member); a task keeps proposing it until applied. While it waits, another voter add is refused
// as etcd refuses it with one started member of two.
runtime::task<rpc_status> etcd_server::add_second_voter(raft::ConfChange change) {
  const uint64_t id = change.node_ids.front();
  second_voter_pending_ = id;
  runtime::spawn([](etcd_server* self, raft::ConfChange add) -> runtime::task<void> {
    rpc_status applied = co_await self->driver_.propose_conf_change(add);
    if (!applied.ok())
      log::warn("the added member's conf change is not applied yet; it commits once the member has started",
                {log::hex_id("member-id", add.node_ids.front()), {"error", applied.message}});
  }(this, change));
  const auto deadline = request_deadline(config_);
  while (!driver_.is_voter(id)) {
    if (stopping_) co_return etcd_errors::stopped();
    if (runtime::clock::now() >= deadline) co_return etcd_errors::timeout();
    if (co_await runtime::sleep_for(config_.heartbeat_interval) != 0) co_return etcd_errors::stopped();
  }
  co_return rpc_status{};
}

runtime::task<unary_outcome> etcd_server::member_remove(std::string bytes) {
  etcdserverpb::MemberRemoveRequest request;
  if (!parse(request, bytes)) co_return failure(malformed());
  if (rpc_status s = co_await begin_membership_change(); !s.ok()) co_return failure(s);
  membership_guard guard{this, &etcd_server::end_membership_change};
  const member_record* record = members_.find(request.id());
  if (record == nullptr) co_return failure(member_errors::not_found());
  if (!record->is_learner && !members_.ready_to_remove_voter(request.id()))
    co_return failure(member_errors::not_enough_started());
  if (!record->is_learner) {
    if (rpc_status s = co_await check_reconfig_health(request.id()); !s.ok()) co_return failure(s);
  }
  raft::ConfChange change{raft::ConfChangeType::kRemoveNode, {request.id()}};
  if (rpc_status s = co_await driver_.propose_conf_change(change); !s.ok()) co_return failure(s);
  log::info("removed member", {log::hex_id("removed-member-id", request.id())});
  etcdserverpb::MemberRemoveResponse response;
  co_return members_reply(response);
}

runtime::task<unary_outcome> etcd_server::member_update(std::string bytes) {
  etcdserverpb::MemberUpdateRequest request;
  if (!parse(request, bytes)) co_return failure(malformed());
  std::vector<std::string> urls = urls_of(request.peerurls());
  if (!valid_peer_urls(urls)) co_return failure(member_errors::bad_urls());
  if (rpc_status s = co_await begin_membership_change(); !s.ok()) co_return failure(s);
  membership_guard guard{this, &etcd_server::end_membership_change};
  const member_record* record = members_.find(request.id());
  if (record == nullptr) co_return failure(member_errors::not_found());
  if (members_.peer_url_taken(urls, request.id())) co_return failure(member_errors::peer_url_exists());
  member_record update = make_member(request.id(), urls);
  member_change change{member_op::update_peer_urls, update};  // named (g++ 12 coroutine pitfall)
  if (rpc_status s = co_await propose_member_change(change); !s.ok()) co_return failure(s);
  log::info("updated member", {log::hex_id("updated-member-id", request.id()), {"updated-peer-urls", urls}});
  etcdserverpb::MemberUpdateResponse response;
  co_return members_reply(response);
}

runtime::task<unary_outcome> etcd_server::member_promote(std::string bytes) {
  etcdserverpb::MemberPromoteRequest request;
  if (!parse(request, bytes)) co_return failure(malformed());
  const member_record* record = members_.find(request.id());
  if (record == nullptr) co_return failure(member_errors::not_found());
  if (!record->is_learner) co_return failure(member_errors::not_learner());
  rpc_status promoted;
  if (driver_.is_leader()) {
    if (rpc_status s = co_await begin_membership_change(); !s.ok()) co_return failure(s);
    membership_guard guard{this, &etcd_server::end_membership_change};
    promoted = co_await promote_as_leader(request.id());
  } else {  // the leader decides (and answers etcd's errors); no local lock: the asker may become leader
    promoted = co_await ask_leader_about(member_op::promote_ask, request.id());
  }
  if (!promoted.ok()) co_return failure(promoted);
  etcdserverpb::MemberPromoteResponse response;
  co_return members_reply(response);
}

runtime::task<rpc_status> etcd_server::promote_as_leader(uint64_t learner_id) {
  const member_record* record = members_.find(learner_id);
  if (record == nullptr) co_return member_errors::not_found();
  if (!record->is_learner) co_return member_errors::not_learner();
  auto learner_match = driver_.match_index(learner_id);
  auto leader_match = driver_.match_index(identity_.member_id);
  if (!leader_match) co_return etcd_errors::not_leader();
  if (learner_match && double(*learner_match) < double(*leader_match) * learner_ready_fraction)
    co_return member_errors::learner_not_ready();
  raft::ConfChange change{raft::ConfChangeType::kAddVoter, {learner_id}};
  rpc_status applied = co_await driver_.propose_conf_change(change);
  if (applied.ok()) log::info("promoted learner", {log::hex_id("promoted-member-id", learner_id)});
  co_return applied;
}

// Asks the leader through the log (member_ask, membership.h) and waits for its answer, within the
// request timeout. An answer of "not leader" (leadership moved while it was checking) is asked again of
// the next leader, as etcd's forwarding retries.
runtime::task<rpc_status> etcd_server::ask_leader_about(member_op op, uint64_t target) {
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

runtime::task<void> etcd_server::answer_member_ask(member_op op, member_ask ask) {
  rpc_status status;
  if (op == member_op::reconfig_check_ask) {
    status = driver_.is_leader() ? reconfig_health(ask.target) : etcd_errors::not_leader();
  } else {
    status = co_await begin_membership_change();
    if (status.ok()) {
      membership_guard guard{this, &etcd_server::end_membership_change};
      status = co_await promote_as_leader(ask.target);
    }
  }
  ask.status = status;
  co_await driver_.propose(proposal_kind(membership_payload_kind), encode_member_ask(member_op::ask_answer, ask));
}

apply_result etcd_server::apply_member_ask(std::string_view message, raft::Term term) {
  auto decoded = decode_member_ask(message);
  if (!decoded) {
    log::error("undecodable membership ask skipped");
    return {etcd_errors::corrupt(), {}};
  }
  auto& [op, ask] = *decoded;
  if (op != member_op::ask_answer) {
    if (driver_.is_leader() && term == driver_.term()) runtime::spawn(answer_member_ask(op, std::move(ask)));
  } else if (ask.asker == identity_.member_id) {
    if (auto waiting = ask_waiters_.find(ask.nonce); waiting != ask_waiters_.end()) {
      waiting->second->answered = true;
      waiting->second->status = std::move(ask.status);
      ask_waiters_.erase(waiting);
    }
  }
  return {};
}

// ---- etcd's strict reconfiguration check of the connections (--strict-reconfig-check) ----

void etcd_server::heard_from(uint64_t member) {
  const auto now = runtime::clock::now();
  peer_activity& activity = peer_activity_[member];
  if (activity.last_heard == runtime::clock::time_point{} || now - activity.last_heard > config_.election_timeout)
    activity.active_since = now;  // a new streak: etcd's ActiveSince restarts with each connection
  activity.last_heard = now;
}

void etcd_server::lost_contact(uint64_t member) { peer_activity_.erase(member); }

bool etcd_server::active_since(uint64_t member, runtime::clock::time_point since) const {
  auto it = peer_activity_.find(member);
  if (it == peer_activity_.end()) return false;
  const auto now = runtime::clock::now();
  return now - it->second.last_heard <= config_.election_timeout && it->second.active_since <= since;
}

// etcd's mayAddMember / mayRemoveMember connection part, as the leader sees it (it hears from every
// member; followers only from the leader): adding needs every other voter connected for the last
// HealthInterval; removing a voter that is down is always allowed, otherwise the voters connected
// for that long, this one included, minus one must still be a quorum.
rpc_status etcd_server::reconfig_health(uint64_t removing) const {
  const auto healthy_since = runtime::clock::now() - reconfig_health_interval;
  std::vector<uint64_t> voters;
  for (const auto& [id, record] : members_.members())
    if (!record.is_learner) voters.push_back(id);
  if (removing == 0) {
    for (uint64_t id : voters)
      if (id != identity_.member_id && !active_since(id, healthy_since)) return member_errors::unhealthy();
    return {};
  }
  if (removing != identity_.member_id && !active_since(removing, runtime::clock::time_point::max())) return {};
  size_t active = 1;
  for (uint64_t id : voters)
    if (id != identity_.member_id && active_since(id, healthy_since)) ++active;
  if (active - 1 < 1 + (voters.size() - 1) / 2) return member_errors::unhealthy();
  return {};
}

runtime::task<rpc_status> etcd_server::check_reconfig_health(uint64_t removing) {
  // Always on, as etcd's default --strict-reconfig-check (the flag itself is not parsed: server/config).
  if (driver_.is_leader()) co_return reconfig_health(removing);
  co_return co_await ask_leader_about(member_op::reconfig_check_ask, removing);
}

// ---- publish ----

runtime::task<void> etcd_server::publish_self() {
  publish_running_ = true;
  const std::vector<std::string> client_urls = urls_of(config_.advertise_client_urls);
  while (!stopping_ && !leaving_) {
    const member_record* self = members_.find(identity_.member_id);
    if (self && self->name == config_.name && self->client_urls == client_urls) break;  // already known
    if (self && driver_.leader() != raft::kNoNode) {
      member_record attributes = make_member(identity_.member_id, urls_of(config_.initial_advertise_peer_urls), config_.name);
      attributes.client_urls = client_urls;
      member_change publish{member_op::publish, attributes};  // named (g++ 12 coroutine pitfall)
      rpc_status published = co_await propose_member_change(publish);
      if (published.ok()) {
        log::info("published local member to cluster through raft",
                  {log::hex_id("local-member-id", identity_.member_id), {"name", config_.name}, {"client-urls", client_urls}});
        break;
      }
    }
    if (co_await runtime::sleep_for(publish_retry_interval) != 0) break;
  }
  publish_running_ = false;
}

// ---- applying ----

apply_result etcd_server::apply_member_change(const decoded_payload& payload, raft::Term term) {
  if (!payload.message.empty() && is_member_ask_op(member_op(uint8_t(payload.message[0]))))
    return apply_member_ask(payload.message, term);
  std::optional<member_change> change = decode_member_change(payload.message);
  if (!change) {
    log::error("undecodable membership entry skipped");
    return {etcd_errors::corrupt(), {}};
  }
  rpc_status status = members_.apply(*change);
  sync_peers();
  return {status, {}};
}

void etcd_server::apply_conf_change(const raft::ConfChange& change, raft::Index index) {
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

bool etcd_server::restore_state(std::string_view data, raft::Index index) {
  unwrapped_snapshot unwrapped = unwrap_snapshot(data);
  if (!unwrapped.valid || !applier_.restore(unwrapped.state, index)) return false;
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

void etcd_server::sync_peers() {
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
    transport_->add_peer(id, *where);
  }
  transport_peers_ = std::move(wanted);
}

// A member started alone has no transport; the first other member (a staged add is enough: the new
// member must be reachable before its conf change commits) starts it, at the next loop turn (not
// inside the apply that got here). A restart replaying that membership starts it the same way.
bool etcd_server::has_other_members() const {
  auto other = [this](const auto& entry) { return entry.first != identity_.member_id; };
  return identity_.multi_member() || std::any_of(members_.members().begin(), members_.members().end(), other) ||
         std::any_of(members_.staged().begin(), members_.staged().end(), other);
}

void etcd_server::request_peers_if_needed() {
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
  runtime::spawn([](etcd_server* self) -> runtime::task<void> {
    if (!self->stopping_) {
      log::info("the cluster has other members now; starting the peer transport");
      self->peers_starter_();
    }
    co_return;
  }(this));
}

void etcd_server::leave_cluster() {
  if (leaving_) return;
  leaving_ = true;
  log::error("the member has been permanently removed from the cluster",
             {log::hex_id("local-member-id", identity_.member_id), log::hex_id("cluster-id", identity_.cluster_id)});
  runtime::spawn([](std::chrono::milliseconds grace) -> runtime::task<void> {
    co_await runtime::sleep_for(grace);
    runtime::request_stop();
  }(leave_grace));
}

}  // namespace ringkv::server
