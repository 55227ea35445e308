// server/api/etcd_server.cc — see etcd_server.h.
#include "server/api/etcd_server.h"

#include <cassert>
#include <chrono>
#include <stdexcept>

#include "server/api/auto_compactor.h"
#include "net/grpc/server_call.h"
#include "runtime/timer.h"
#include "server/common/server_metrics.h"

namespace ringkv::server {
namespace {

std::optional<auth::jwt_tokens> jwt_tokens_of(const server_config& config) {
  if (config.auth_jwt.sign_method.empty()) return std::nullopt;
  auth::jwt_tokens::loaded keys = auth::jwt_tokens::load(config.auth_jwt);
  if (!keys.tokens) throw std::runtime_error("failed to create token provider: " + keys.error);
  return std::move(keys.tokens);
}

}  // namespace

etcd_server::etcd_server(const server_config& config, member_identity identity,
                         storage::wal::write_ahead_log& wal, storage::wal::snapshot_store& snapshots,
                         storage::wal::recovered_state recovered,
                         std::optional<storage::wal::loaded_snapshot> snapshot)
    : replica_(config, std::move(identity), wal, snapshots, std::move(recovered), std::move(snapshot)),
      jwt_(jwt_tokens_of(config)) {
  replica_.set_events(*this);
  replica_.applier().set_signed_tokens(jwt_.has_value());
  pipeline_.add(learner_refusal_);
  pipeline_.set_authenticator(auth_gate_);
  watch_.set_watch_permission([this](const net::grpc::call_ref& call, const etcdserverpb::WatchCreateRequest& create) {
    return auth_gate_.watch_permitted(call->metadata("token"), call->client_cert_cn(), create);
  });
  election_.set_observe_permission(
      [this](const net::grpc::call_ref& call, const std::string& key, const std::string& range_end) {
        etcdserverpb::WatchCreateRequest observed;  // the same check: read over the range
        observed.set_key(key);
        observed.set_range_end(range_end);
        return auth_gate_.watch_permitted(call->metadata("token"), call->client_cert_cn(), observed);
      });
  publish_db_size(replica_.store().size_bytes());  // the state recovered from the snapshot
}

etcd_server::~etcd_server() = default;

void etcd_server::register_services(net::grpc::service_registry& registry) {
  kv_.register_methods(pipeline_, registry);
  lease_.register_methods(pipeline_, registry);
  cluster_.register_methods(pipeline_, registry);
  maintenance_.register_methods(pipeline_, registry);
  lock_.register_methods(pipeline_, registry);
  election_.register_methods(pipeline_, registry);
  watch_.register_methods(pipeline_, registry);
  auth_.register_methods(pipeline_, registry);
}

namespace {
constexpr std::chrono::milliseconds caught_up_retry_interval{100};  // a read index was refused (no leader yet)
}  // namespace

runtime::task<void> etcd_server::run() {
  // Background work that uses the member joins the gate; run() returns once all of it has ended.
  bool started = background_.spawn(lease_.housekeeping());
  started = started && background_.spawn(publish_then_ready());
  if (auto_compaction_enabled(replica_.config())) started = started && background_.spawn(run_auto_compactor(replica_, stop_background_.token()));
  assert(started && "the gate closes only below");
  co_await replica_.run();
  apply_waiters_.wake_all(etcd_errors::stopped());
  maintenance_.stop_snapshot_streams();
  co_await background_.close();
}

void etcd_server::stop() {
  replica_.stop();
  stop_background_.cancel();  // waits that are long (auto compaction's) end now, not at their deadline
  ready_changed_.notify_all();
}

runtime::task<void> etcd_server::publish_then_ready() {
  co_await cluster_.publish_self();  // returns once published with a leader known, or when stopping
  // Caught up: a read index confirmed by the cluster is applied here, so the member never serves an
  // older revision than it served before a restart (its commit index on disk may lag what it had
  // applied). etcd gets the same from waiting for its publish entry. Learners cannot ask for one.
  while (!replica_.stopping() && !replica_.leaving() && !replica_.is_learner()) {
    rpc_status caught_up = co_await replica_.driver().read_barrier();  // named: g++ 12 and temporaries
    if (caught_up.ok()) break;
    int slept = co_await runtime::sleep_for(caught_up_retry_interval);
    if (slept != 0) break;
  }
  ready_ = !replica_.stopping() && !replica_.leaving();
  ready_changed_.notify_all();
}

runtime::task<bool> etcd_server::wait_ready() {
  co_await ready_changed_.wait_until([this] { return ready_ || replica_.stopping() || replica_.leaving(); });
  co_return ready_;
}

bool etcd_server::healthy() const {
  return replica_.driver().leader() != raft::kNoNode && !replica_.applier().nospace_alarm();
}

runtime::task<unary_outcome> etcd_server::call_unary(std::string_view grpc_method, std::string bytes,
                                                     std::string token) {
  co_return co_await pipeline_.call_unary(grpc_method, std::move(bytes), std::move(token));
}

void etcd_server::entries_applied() {
  watch_.pump();
  apply_waiters_.wake_all({});
  publish_db_size(replica_.store().size_bytes());  // etcd_mvcc_db_total_size_in_bytes: as Status' dbSize
}

void etcd_server::member_asked(member_op op, member_ask ask) { cluster_.member_asked(op, std::move(ask)); }

void etcd_server::state_replacing() { maintenance_.abort_snapshot_streams(); }

}  // namespace ringkv::server
