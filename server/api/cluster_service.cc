// server/api/cluster_service.cc — see cluster_service.h.
#include "server/api/cluster_service.h"

#include <xxhash.h>

#include <algorithm>
#include <chrono>

#include "net/peer/cluster_id.h"
#include "net/peer/peer_transport.h"
#include "runtime/log.h"
#include "runtime/reactor.h"
#include "runtime/spawn.h"
#include "runtime/timer.h"
#include "server/api/service_support.h"
#include "server/replica/membership_join.h"

namespace ringkv::server {

using namespace unary;

namespace {

constexpr std::chrono::milliseconds publish_retry_interval{200};
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

bool reachable_by_address(const std::string& url) { return peer_endpoint(url).has_value(); }

// etcd accepts scheme://host:port URLs; we reach peers by IP address (net/peer has no name resolution).
bool valid_peer_urls(const std::vector<std::string>& urls) {
  return !urls.empty() && std::all_of(urls.begin(), urls.end(), reachable_by_address);
}

bool is_voter(const std::pair<const uint64_t, member_record>& entry) { return !entry.second.is_learner; }

// Ends this member's membership change (begin_membership_change) when the change's scope ends.
struct membership_change_scope {
  bool& busy;
  ~membership_change_scope() { busy = false; }
};

// add_second_voter's background proposal of the conf change (it commits once the new member runs).
runtime::task<void> propose_second_voter(raft_driver& driver, raft::ConfChange add) {
  rpc_status applied = co_await driver.propose_conf_change(add);
  if (!applied.ok())
    log::warn("the added member's conf change is not applied yet; it commits once the member has started",
              {log::hex_id("member-id", add.node_ids.front()), {"error", applied.message}});
}

}  // namespace

void cluster_service::register_methods(request_pipeline& pipeline, net::grpc::service_registry& registry) {
  service_methods cluster(pipeline, registry, *this, "/etcdserverpb.Cluster/");
  cluster.unary("MemberList", &cluster_service::member_list);
  cluster.unary("MemberAdd", &cluster_service::member_add);
  cluster.unary("MemberRemove", &cluster_service::member_remove);
  cluster.unary("MemberUpdate", &cluster_service::member_update);
  cluster.unary("MemberPromote", &cluster_service::member_promote);
}

// ---- replies ----

template <typename Response>
unary_outcome cluster_service::members_reply(Response& response) const {
  member_.list_members(response.mutable_header(), response.mutable_members());
  return reply(response);
}

runtime::task<unary_outcome> cluster_service::member_list(const etcdserverpb::MemberListRequest&) {
  etcdserverpb::MemberListResponse response;
  co_return members_reply(response);
}

// ---- changes ----

runtime::task<rpc_status> cluster_service::begin_membership_change() {
  const server_config& config = member_.config();
  const auto deadline = request_deadline(config);
  while (membership_busy_) {
    if (member_.stopping() || runtime::clock::now() >= deadline) co_return etcd_errors::timeout();
    if (co_await runtime::sleep_for(config.heartbeat_interval) != 0) co_return etcd_errors::stopped();
  }
  membership_busy_ = true;
  co_return rpc_status{};
}

// etcd: a hash of the peer URLs, the cluster and the time; never 0, never a known or removed id.
uint64_t cluster_service::new_member_id(const std::vector<std::string>& urls) const {
  const membership& members = member_.members();
  const member_identity& identity = member_.identity();
  std::string key;
  for (const auto& url : urls) key += url + '\n';
  uint64_t id = 0;
  for (uint64_t salt = uint64_t(std::chrono::system_clock::now().time_since_epoch().count());
       id == 0 || members.find(id) || members.is_removed(id) || id == identity.member_id; ++salt) {
    std::string text = key + std::to_string(identity.cluster_id) + '/' + std::to_string(salt);
    id = XXH3_64bits(text.data(), text.size());
  }
  return id;
}

runtime::task<unary_outcome> cluster_service::member_add(const etcdserverpb::MemberAddRequest& request) {
  const membership& members = member_.members();
  std::vector<std::string> urls = urls_of(request.peerurls());
  if (!valid_peer_urls(urls)) co_return failure(member_errors::bad_urls());
  if (rpc_status s = co_await begin_membership_change(); !s.ok()) co_return failure(s);
  membership_change_scope change_scope{membership_busy_};
  const bool learner = request.islearner();
  if (!learner && (!members.ready_to_add_voter() || member_.second_voter_pending()))  // 2 members, 1 started
    co_return failure(member_errors::not_enough_started());
  if (rpc_status s = co_await check_reconfig_health(0); !s.ok()) co_return failure(s);
  if (members.peer_url_taken(urls)) co_return failure(member_errors::peer_url_exists());
  if (learner && members.learner_count() >= learners_max) co_return failure(member_errors::too_many_learners());
  const uint64_t id = new_member_id(urls);
  member_record record = make_member(id, urls);
  record.is_learner = learner;
  member_change stage{member_op::stage_add, record};  // named: g++ 12 double-destroys braced temporaries
  if (rpc_status s = co_await member_.propose_member_change(stage); !s.ok()) co_return failure(s);
  raft::ConfChange change{learner ? raft::ConfChangeType::kAddLearner : raft::ConfChangeType::kAddVoter, {id}};
  if (!learner && voters_are_only_self()) {
    if (rpc_status s = co_await add_second_voter(change); !s.ok()) co_return failure(s);
  } else {
    if (rpc_status s = co_await member_.driver().propose_conf_change(change); !s.ok()) co_return failure(s);
  }
  log::info("added member", {log::hex_id("added-member-id", id), {"added-member-peer-urls", urls}, {"is-learner", learner}});
  etcdserverpb::MemberAddResponse response;
  to_proto(members.find(id) ? *members.find(id) : record, response.mutable_member());
  members_reply(response);
  if (!members.find(id)) to_proto(record, response.add_members());  // etcdctl prints it in ETCD_INITIAL_CLUSTER
  co_return reply(response);
}

bool cluster_service::voters_are_only_self() const {
  const membership& members = member_.members();
  const member_record* self = members.find(member_.identity().member_id);
  return self != nullptr && !self->is_learner &&
         std::count_if(members.members().begin(), members.members().end(), is_voter) == 1;
}

// A cluster of one voter growing to two. etcd commits that conf change with the old quorum (its raft
// applies membership when committed), then waits for the new member. Our raft counts a voter from the
// moment its conf change is in the log, so the change commits only once the new member runs and has
// caught up - and the new member can only start once `member add` has answered. So the answer comes
// as soon as the change is in the leader's log (from then on, as in etcd, nothing commits without the
// new member); a task keeps proposing it until applied. While it waits, another voter add is refused
// as etcd refuses it with one started member of two.
runtime::task<rpc_status> cluster_service::add_second_voter(raft::ConfChange change) {
  const uint64_t id = change.node_ids.front();
  member_.expect_second_voter(id);
  runtime::spawn(propose_second_voter(member_.driver(), change));
  const auto deadline = request_deadline(member_.config());
  while (!member_.driver().is_voter(id)) {
    if (member_.stopping()) co_return etcd_errors::stopped();
    if (runtime::clock::now() >= deadline) co_return etcd_errors::timeout();
    if (co_await runtime::sleep_for(member_.config().heartbeat_interval) != 0) co_return etcd_errors::stopped();
  }
  co_return rpc_status{};
}

runtime::task<unary_outcome> cluster_service::member_remove(const etcdserverpb::MemberRemoveRequest& request) {
  if (rpc_status s = co_await begin_membership_change(); !s.ok()) co_return failure(s);
  membership_change_scope change_scope{membership_busy_};
  const membership& members = member_.members();
  const member_record* record = members.find(request.id());
  if (record == nullptr) co_return failure(member_errors::not_found());
  if (!record->is_learner && !members.ready_to_remove_voter(request.id()))
    co_return failure(member_errors::not_enough_started());
  if (!record->is_learner) {
    if (rpc_status s = co_await check_reconfig_health(request.id()); !s.ok()) co_return failure(s);
  }
  raft::ConfChange change{raft::ConfChangeType::kRemoveNode, {request.id()}};
  if (rpc_status s = co_await member_.driver().propose_conf_change(change); !s.ok()) co_return failure(s);
  log::info("removed member", {log::hex_id("removed-member-id", request.id())});
  etcdserverpb::MemberRemoveResponse response;
  co_return members_reply(response);
}

runtime::task<unary_outcome> cluster_service::member_update(const etcdserverpb::MemberUpdateRequest& request) {
  std::vector<std::string> urls = urls_of(request.peerurls());
  if (!valid_peer_urls(urls)) co_return failure(member_errors::bad_urls());
  if (rpc_status s = co_await begin_membership_change(); !s.ok()) co_return failure(s);
  membership_change_scope change_scope{membership_busy_};
  const membership& members = member_.members();
  if (members.find(request.id()) == nullptr) co_return failure(member_errors::not_found());
  if (members.peer_url_taken(urls, request.id())) co_return failure(member_errors::peer_url_exists());
  member_record update = make_member(request.id(), urls);
  member_change change{member_op::update_peer_urls, update};  // named (g++ 12 coroutine pitfall)
  if (rpc_status s = co_await member_.propose_member_change(change); !s.ok()) co_return failure(s);
  log::info("updated member", {log::hex_id("updated-member-id", request.id()), {"updated-peer-urls", urls}});
  etcdserverpb::MemberUpdateResponse response;
  co_return members_reply(response);
}

runtime::task<unary_outcome> cluster_service::member_promote(const etcdserverpb::MemberPromoteRequest& request) {
  const member_record* record = member_.members().find(request.id());
  if (record == nullptr) co_return failure(member_errors::not_found());
  if (!record->is_learner) co_return failure(member_errors::not_learner());
  rpc_status promoted;
  if (member_.driver().is_leader()) {
    if (rpc_status s = co_await begin_membership_change(); !s.ok()) co_return failure(s);
    membership_change_scope change_scope{membership_busy_};
    promoted = co_await promote_as_leader(request.id());
  } else {  // the leader decides (and answers etcd's errors); no local lock: the asker may become leader
    promoted = co_await member_.ask_leader_about(member_op::promote_ask, request.id());
  }
  if (!promoted.ok()) co_return failure(promoted);
  etcdserverpb::MemberPromoteResponse response;
  co_return members_reply(response);
}

runtime::task<rpc_status> cluster_service::promote_as_leader(uint64_t learner_id) {
  const member_record* record = member_.members().find(learner_id);
  if (record == nullptr) co_return member_errors::not_found();
  if (!record->is_learner) co_return member_errors::not_learner();
  raft_driver& driver = member_.driver();
  auto learner_match = driver.match_index(learner_id);
  auto leader_match = driver.match_index(member_.identity().member_id);
  if (!leader_match) co_return etcd_errors::not_leader();
  if (learner_match && double(*learner_match) < double(*leader_match) * learner_ready_fraction)
    co_return member_errors::learner_not_ready();
  raft::ConfChange change{raft::ConfChangeType::kAddVoter, {learner_id}};
  rpc_status applied = co_await driver.propose_conf_change(change);
  if (applied.ok()) log::info("promoted learner", {log::hex_id("promoted-member-id", learner_id)});
  co_return applied;
}

runtime::task<void> cluster_service::answer_member_ask(member_op op, member_ask ask) {
  rpc_status status;
  if (op == member_op::reconfig_check_ask) {
    status = member_.driver().is_leader() ? reconfig_health(ask.target) : etcd_errors::not_leader();
  } else {
    status = co_await begin_membership_change();
    if (status.ok()) {
      membership_change_scope change_scope{membership_busy_};
      status = co_await promote_as_leader(ask.target);
    }
  }
  ask.status = status;
  co_await member_.answer_member_ask(std::move(ask));
}

void cluster_service::member_asked(member_op op, member_ask ask) { runtime::spawn(answer_member_ask(op, std::move(ask))); }

// ---- etcd's strict reconfiguration check of the connections (--strict-reconfig-check) ----

// etcd's mayAddMember / mayRemoveMember connection part, as the leader sees it (it hears from every
// member; followers only from the leader): adding needs every other voter connected for the last
// HealthInterval; removing a voter that is down is always allowed, otherwise the voters connected
// for that long, this one included, minus one must still be a quorum.
rpc_status cluster_service::reconfig_health(uint64_t removing) const {
  const uint64_t self = member_.identity().member_id;
  const auto healthy_since = runtime::clock::now() - reconfig_health_interval;
  std::vector<uint64_t> voters;
  for (const auto& [id, record] : member_.members().members())
    if (!record.is_learner) voters.push_back(id);
  if (removing == 0) {
    for (uint64_t id : voters)
      if (id != self && !member_.active_since(id, healthy_since)) return member_errors::unhealthy();
    return {};
  }
  if (removing != self && !member_.active_since(removing, runtime::clock::time_point::max())) return {};
  size_t active = 1;
  for (uint64_t id : voters)
    if (id != self && member_.active_since(id, healthy_since)) ++active;
  if (active - 1 < 1 + (voters.size() - 1) / 2) return member_errors::unhealthy();
  return {};
}

runtime::task<rpc_status> cluster_service::check_reconfig_health(uint64_t removing) {
  // Always on, as etcd's default --strict-reconfig-check (the flag itself is not parsed: server/config).
  if (member_.driver().is_leader()) co_return reconfig_health(removing);
  co_return co_await member_.ask_leader_about(member_op::reconfig_check_ask, removing);
}

// ---- publish ----

runtime::task<void> cluster_service::publish_self() {
  const server_config& config = member_.config();
  const uint64_t self_id = member_.identity().member_id;
  const std::vector<std::string> client_urls = urls_of(config.advertise_client_urls);
  while (!member_.stopping() && !member_.leaving()) {
    const member_record* self = member_.members().find(self_id);
    const bool has_leader = member_.driver().leader() != raft::kNoNode;  // (etcd_server's ready: both)
    if (self && has_leader && self->name == config.name && self->client_urls == client_urls) break;  // known
    if (self && has_leader) {
      member_record attributes = make_member(self_id, urls_of(config.initial_advertise_peer_urls), config.name);
      attributes.client_urls = client_urls;
      member_change publish{member_op::publish, attributes};  // named (g++ 12 coroutine pitfall)
      rpc_status published = co_await member_.propose_member_change(publish);
      if (published.ok()) {
        log::info("published local member to cluster through raft",
                  {log::hex_id("local-member-id", self_id), {"name", config.name}, {"client-urls", client_urls}});
        break;
      }
    }
    if (co_await runtime::sleep_for(publish_retry_interval) != 0) break;
  }
}

}  // namespace ringkv::server
