// logagent/config_watch.cc - the Get/Watch/reconcile loop and the leased status key.
#include "logagent/config_watch.h"

#include "client/kv.h"
#include "client/lease.h"
#include "runtime/log.h"
#include "runtime/reactor.h"
#include "runtime/timer.h"

namespace ringkv::logagent {

namespace {

using namespace std::chrono_literals;
constexpr auto retry_pause = 1s;
constexpr auto watch_turn = 100ms;  // each of the two watchers is waited on for this long in turn

void apply(const mvccpb::Event& event, const std::string& prefix, std::map<std::string, std::string>& into) {
  const std::string name = event.kv().key().substr(prefix.size());
  if (event.type() == mvccpb::Event::DELETE) {
    into.erase(name);
  } else {
    into[name] = event.kv().value();
  }
}

}  // namespace

std::string sources_prefix(const std::string& host) { return "/logagent/" + host + "/sources/"; }
std::string status_key(const std::string& host) { return "/logagent/" + host + "/status"; }

runtime::task<void> follow_config(client::client& c, client::watch_hub& hub, agent& a,
                                  std::chrono::milliseconds pause_after_get) {
  client::kv kv(c);
  const std::string own_prefix = sources_prefix(a.host());
  while (!runtime::stop_requested()) {
    client::range_options sources_range;
    sources_range.range_end = client::prefix_end(own_prefix);
    auto sources = co_await kv.range(own_prefix, sources_range);
    if (!sources.ok()) {
      log::warn("logagent: reading config failed", {{"error", sources.status.text()}});
      co_await runtime::sleep_for(retry_pause);
      continue;
    }
    const int64_t revision = sources.value.header().revision();
    client::range_options defaults_range;
    defaults_range.range_end = client::prefix_end(defaults_prefix);
    defaults_range.revision = revision;
    auto defaults = co_await kv.range(defaults_prefix, defaults_range);
    if (!defaults.ok()) {
      log::warn("logagent: reading config defaults failed", {{"error", defaults.status.text()}});
      co_await runtime::sleep_for(retry_pause);
      continue;
    }
    desired_config desired;
    for (const auto& item : sources.value.kvs()) desired.sources[item.key().substr(own_prefix.size())] = item.value();
    for (const auto& item : defaults.value.kvs()) desired.defaults[item.key().substr(defaults_prefix.size())] = item.value();
    a.reconcile(desired);
    log::info("logagent: config read", {{"revision", revision}, {"sources", desired.sources.size()}});
    if (pause_after_get.count() > 0) co_await runtime::sleep_for(pause_after_get);

    client::watch_options from;
    from.start_revision = revision + 1;
    from.range_end = client::prefix_end(own_prefix);
    auto own_watch = hub.watch(own_prefix, from);
    from.range_end = client::prefix_end(defaults_prefix);
    auto defaults_watch = hub.watch(defaults_prefix, from);
    bool watching = true;
    while (watching && !runtime::stop_requested()) {
      bool changed = false;
      for (auto* w : {&own_watch, &defaults_watch}) {
        auto batch = co_await (*w)->next(watch_turn);
        if (!batch.ok()) {
          if (batch.status.code == client::grpc_code::deadline_exceeded) continue;
          if (runtime::stop_requested()) co_return;
          log::warn("logagent: config watch ended, reading again",
                    {{"error", batch.status.text()}, {"compact_revision", (*w)->compact_revision()}});
          watching = false;
          break;
        }
        const bool own = w == &own_watch;
        for (const auto& event : batch.value.events) {
          apply(event, own ? own_prefix : defaults_prefix, own ? desired.sources : desired.defaults);
          changed = true;
        }
      }
      if (changed) a.reconcile(desired);
    }
    own_watch->cancel();
    defaults_watch->cancel();
  }
}

runtime::task<void> publish_status(client::client& c, agent& a, std::chrono::seconds ttl,
                                   std::chrono::milliseconds period) {
  client::kv kv(c);
  client::lease_keeper keeper(c);
  const std::string key = status_key(a.host());
  int64_t lease = 0;
  std::string published;  // the value last put under `lease` (an unchanged status is not put again)
  while (!runtime::stop_requested()) {
    if (lease == 0 || !keeper.kept(lease)) {
      published.clear();
      auto granted = co_await client::lease_grant(c, ttl.count());
      if (granted.ok()) {
        lease = granted.value.id();
        keeper.keep(lease, ttl.count());
      } else {
        lease = 0;
      }
    }
    if (std::string status = a.status_json(); lease != 0 && status != published) {
      const client::put_options leased = client::with_lease(lease);
      auto put = co_await kv.put(key, status, leased);
      if (put.ok()) {
        published = std::move(status);
      } else {
        log::debug("logagent: status put failed", {{"error", put.status.text()}});
      }
    }
    co_await runtime::sleep_for(period);
  }
  co_await keeper.close();
}

}  // namespace ringkv::logagent
