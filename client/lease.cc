// client/lease.cc - lease calls and the keepalive loop (lease.h).
#include "client/lease.h"

#include <cassert>
#include <vector>

#include "runtime/timer.h"

namespace ringkv::client {
namespace {

// How often the keeper looks at its leases (the refresh due times and the overdue ones).
constexpr std::chrono::milliseconds keeper_tick{250};

}  // namespace

runtime::task<result<etcdserverpb::LeaseGrantResponse>> lease_grant(client& c, int64_t ttl_s, int64_t id,
                                                                    call_options call) {
  etcdserverpb::LeaseGrantRequest request;
  request.set_ttl(ttl_s);
  request.set_id(id);
  auto out = co_await c.call<etcdserverpb::LeaseGrantResponse>(rpc_method::lease_grant, request,
                                                               retry_policy::at_most_once, call);
  if (out.ok() && !out.value.error().empty()) out.status = status{grpc_code::unknown, out.value.error()};
  co_return out;
}

runtime::task<result<etcdserverpb::LeaseRevokeResponse>> lease_revoke(client& c, int64_t id, call_options call) {
  etcdserverpb::LeaseRevokeRequest request;
  request.set_id(id);
  co_return co_await c.call<etcdserverpb::LeaseRevokeResponse>(rpc_method::lease_revoke, request,
                                                                retry_policy::idempotent, call);
}

runtime::task<result<etcdserverpb::LeaseTimeToLiveResponse>> lease_time_to_live(client& c, int64_t id, bool with_keys,
                                                                               call_options call) {
  etcdserverpb::LeaseTimeToLiveRequest request;
  request.set_id(id);
  request.set_keys(with_keys);
  co_return co_await c.call<etcdserverpb::LeaseTimeToLiveResponse>(rpc_method::lease_time_to_live, request,
                                                                    retry_policy::idempotent, call);
}

lease_keeper::lease_keeper(client& c) : client_(c) {
  const bool started = pump_gate_.spawn(pump());
  assert(started);
  (void)started;
}

lease_keeper::~lease_keeper() { assert(pump_gate_.closed() && "close() a lease_keeper before destroying it"); }

bool lease_keeper::keep(int64_t id, int64_t ttl_s, std::function<void(int64_t)> on_lost) {
  if (leases_.size() >= leases_limit || closing_) return false;
  const auto now = runtime::clock::now();
  kept_lease lease{std::chrono::seconds(ttl_s), now, now + std::chrono::seconds(ttl_s), false, std::move(on_lost)};
  leases_.insert_or_assign(id, std::move(lease));
  wake_.notify();
  return true;
}

void lease_keeper::forget(int64_t id) { leases_.erase(id); }

void lease_keeper::lose(int64_t id) {
  auto found = leases_.find(id);
  if (found == leases_.end()) return;
  auto on_lost = std::move(found->second.on_lost);
  leases_.erase(found);
  if (on_lost) on_lost(id);
}

void lease_keeper::expire_overdue() {
  const auto now = runtime::clock::now();
  std::vector<int64_t> overdue;
  for (const auto& [id, lease] : leases_) {
    if (now >= lease.expires) overdue.push_back(id);
  }
  for (const int64_t id : overdue) lose(id);
}

runtime::task<void> lease_keeper::serve(grpc_stream& stream) {
  bool broken = false;
  runtime::gate receiving;
  const bool started = receiving.spawn([](lease_keeper& self, grpc_stream& s, bool& broken_flag) -> runtime::task<void> {
    etcdserverpb::LeaseKeepAliveResponse response;
    while ((co_await s.receive(response)).ok()) {
      auto found = self.leases_.find(response.id());
      if (found == self.leases_.end()) continue;
      if (response.ttl() <= 0) {
        self.lose(response.id());
        continue;
      }
      const auto now = runtime::clock::now();
      found->second.in_flight = false;
      found->second.refreshed = now;
      found->second.expires = now + std::chrono::seconds(response.ttl());
    }
    broken_flag = true;
  }(*this, stream, broken));
  assert(started);
  (void)started;
  while (!broken && !closing_) {
    expire_overdue();
    const auto now = runtime::clock::now();
    for (auto& [id, lease] : leases_) {
      if (lease.in_flight && now < lease.refreshed + lease.ttl / 3 + keeper_tick * 4) continue;
      if (now < lease.refreshed + lease.ttl / 3) continue;
      etcdserverpb::LeaseKeepAliveRequest request;
      request.set_id(id);
      if (!(co_await stream.send(request)).ok()) {
        broken = true;
        break;
      }
      lease.in_flight = true;
    }
    co_await runtime::sleep_for(keeper_tick, pump_cancel_.token());
  }
  co_await stream.close();
  co_await receiving.close();
}

runtime::task<void> lease_keeper::pump() {
  while (!closing_) {
    if (leases_.empty()) {
      co_await wake_;
      continue;
    }
    co_await client_.serve_stream(rpc_method::lease_keepalive, [this](grpc_stream& stream) { return serve(stream); },
                                  &closing_);
    for (auto& [id, lease] : leases_) lease.in_flight = false;
    expire_overdue();
    if (!closing_) co_await runtime::sleep_for(client_.config().failover_pause, pump_cancel_.token());
  }
}

runtime::task<void> lease_keeper::close() {
  if (closing_) co_return;
  closing_ = true;
  pump_cancel_.cancel();
  wake_.notify();
  co_await pump_gate_.close();
}

}  // namespace ringkv::client
