// server/frontend/shard_ports.cc — see shard_ports.h.
#include "server/frontend/shard_ports.h"

#include <algorithm>
#include <cstdint>
#include <optional>

#include "net/grpc/call_relay.h"
#include "net/grpc/client_connection.h"
#include "net/tcp/listener.h"
#include "runtime/notifier.h"
#include "runtime/reactor.h"
#include "runtime/smp.h"
#include "runtime/timer.h"
#include "runtime/when_all.h"
#include "runtime/log.h"
#include "server/common/server_metrics.h"
#include "server/frontend/client_tls.h"
#include "server/frontend/connection_cap.h"
#include "server/frontend/http_routes.h"

namespace ringkv::server {
namespace {

constexpr unsigned home_shard = 0;
// Other shards answer GET /health from a copy of shard 0's healthy(), at most this old.
constexpr auto health_refresh_interval = std::chrono::milliseconds(10);
// Shutdown: how long shard 0 waits for relayed calls to wind down after every connection ended.
constexpr auto relay_wind_down_ms_max = std::chrono::milliseconds(2000);

// etcd 3.4 (embed/etcd.go) gives grpc-go the keepalive flags only when set: min-time 0 leaves grpc-go's
// default ping policy (5 min); interval or timeout 0 leaves grpc-go's defaults for both (2h, 20s).
void apply_keepalive_flags(const server_config& config, net::grpc::server_limits& limits) {
  using namespace std::chrono_literals;
  limits.ping_min_interval = config.grpc_keepalive_min_time > 0ms ? config.grpc_keepalive_min_time
                                                                  : std::chrono::milliseconds(std::chrono::minutes(5));
  if (config.grpc_keepalive_interval > 0ms && config.grpc_keepalive_timeout > 0ms) {
    limits.keepalive_interval = config.grpc_keepalive_interval;
    limits.keepalive_timeout = config.grpc_keepalive_timeout;
  }
}

}  // namespace

struct shard_ports::shard_state {
  http_routes_context routes;
  net::grpc::client_port_services services;  // services.http answers from `routes`
  net::grpc::client_port_services tls_services;  // the same behind a TLS handshake (https listeners)
  std::unique_ptr<client_tls_port> tls;          // set when a client URL is https
  net::grpc::client_port_config config;
  net::grpc::live_connection_set live;
  runtime::notifier closing;  // close() was called: serve() ends every connection, then returns
  std::vector<net::listener> listeners;
  std::vector<bool> listener_secure;  // per listener: its URL is https
  std::optional<net::grpc::service_registry> relay_registry;  // shards other than 0
};

shard_ports::shard_ports(const server_config& config, etcd_server& server,
                         const net::grpc::service_registry& registry)
    : config_(config), server_(server), registry_(registry), shard_count_(runtime::shard_count()) {
  assert(runtime::this_shard() == home_shard);
  shards_.resize(shard_count_);
}

shard_ports::~shard_ports() = default;

size_t shard_ports::open_connections() const {
  size_t total = 0;
  for (unsigned shard = 0; shard < shard_count_; ++shard)
    total += size_t(client_connections_gauge(shard).value());
  return total;
}

runtime::task<bool> shard_ports::open() {
  std::vector<net::endpoint> where;  // filled by shard 0: the ports other shards bind too
  // The member's client connection cap, shared out over every shard's listeners (connection_cap.h).
  const size_t cap = client_connection_cap();
  const size_t listeners = shard_count_ * std::max<size_t>(1, config_.listen_client_urls.size());
  const size_t connections_per_listener = cap == SIZE_MAX ? SIZE_MAX : std::max<size_t>(1, cap / listeners);
  log::info("client connection cap", {{"max-client-connections", uint64_t(cap == SIZE_MAX ? 0 : cap)},
                                      {"per-listener", uint64_t(connections_per_listener == SIZE_MAX ? 0 : connections_per_listener)}});
  const bool any_https = std::any_of(config_.listen_client_urls.begin(), config_.listen_client_urls.end(),
                                     [](const url_endpoint& url) { return url.scheme == "https"; });
  if (any_https) {
    std::string error;
    client_tls_ = make_client_tls(config_, error);
    if (!client_tls_.context) {
      log::error("listener failed", {{"error", error}});
      co_return false;
    }
  }
  for (unsigned shard = 0; shard < shard_count_; ++shard) {
    const bool opened = co_await runtime::submit_to(shard, [this, shard, &where, connections_per_listener]() -> bool {
      auto state = std::make_unique<shard_state>();
      http_routes_context& routes = state->routes;
      net::grpc::client_port_config& port_config = state->config;
      port_config.grpc.max_request_bytes = config_.max_request_bytes;
      port_config.grpc.max_concurrent_streams =
          uint32_t(std::min<uint64_t>(config_.max_concurrent_streams, UINT32_MAX));
      apply_keepalive_flags(config_, port_config.grpc);
      // The JSON gateway's body carries the request base64-encoded inside JSON: twice the gRPC limit.
      port_config.http.max_body_bytes = 2 * port_config.grpc.receive_message_bytes_max();
      if (shard == home_shard) {
        routes.registry = &registry_;
        routes.healthy = [this] { return server_.healthy(); };
        routes.unary = [this](std::string_view method, std::string request, std::string token) {
          return server_.call_unary(method, std::move(request), std::move(token));
        };
      } else {
        state->relay_registry.emplace(net::grpc::make_relay_registry(registry_, home_shard));
        routes.registry = &*state->relay_registry;
        routes.healthy = [this] { return healthy_.load(std::memory_order_relaxed); };
        routes.unary = [this](std::string_view method, std::string request, std::string token) {
          return runtime::submit_to(home_shard, [this, method = std::string(method), request = std::move(request),
                                                 token = std::move(token)]() mutable {
            return server_.call_unary(method, std::move(request), std::move(token));
          });
        };
      }
      net::grpc::client_port_services& services = state->services;
      services.grpc = routes.registry;
      services.http = make_http_routes(routes);
      services.live = &state->live;
      services.hooks.grpc_received_bytes = [](size_t bytes) { node_metrics().grpc_received_bytes.inc(bytes); };
      services.hooks.grpc_sent_bytes = [](size_t bytes) { node_metrics().grpc_sent_bytes.inc(bytes); };
      services.hooks.open_connections = [gauge = &client_connections_gauge(shard)](int delta) { gauge->add(delta); };
      if (client_tls_.context) {
        state->tls = std::make_unique<client_tls_port>(client_tls_);
        state->tls_services = services;
        state->tls_services.transport = state->tls->transport();
      }
      net::listen_options options;
      if (shard_count_ > 1) options.sharing = net::port_sharing::reuse_port;
      options.max_connections = connections_per_listener;
      for (size_t i = 0; i < config_.listen_client_urls.size(); ++i) {
        const auto& url = config_.listen_client_urls[i];
        std::optional<net::endpoint> bind_to = shard == home_shard ? bind_endpoint(url) : where[i];
        if (!bind_to) {
          log::error("listen address is not an IP address", {{"url", url.url}});
          return false;
        }
        if (shard == home_shard && shard_count_ > 1) {
          // SO_REUSEPORT would also let a second ringkv bind the same port: take it exclusively for a
          // moment first, so a port in use fails as it does with one shard (and :0 picks one port).
          auto probe = net::listener::open(*bind_to);
          if (!probe) {
            log::error("cannot listen for client traffic", {{"url", url.url}, {"error", probe.error_message()}});
            return false;
          }
          bind_to = probe.value().local();
        }
        auto opened = net::listener::open(*bind_to, options);
        if (!opened) {
          log::error("cannot listen for client traffic",
                     {{"url", url.url}, {"shard", uint64_t(shard)}, {"error", opened.error_message()}});
          return false;
        }
        if (shard == home_shard) {
          where.push_back(opened.value().local());
          if (url.scheme == "https")
            log::info("serving client traffic securely", {{"address", opened.value().local().to_string()}});
          else
            log::warn("serving client traffic insecurely; this is strongly discouraged!",
                      {{"address", opened.value().local().to_string()}});
        }
        state->listeners.push_back(std::move(opened.value()));
        state->listener_secure.push_back(url.scheme == "https");
      }
      shards_[shard] = std::move(state);
      return true;
    });
    if (!opened) co_return false;
  }
  co_return true;
}

runtime::task<void> shard_ports::publish_health() {
  while (!closing_ && !runtime::stop_requested()) {
    healthy_.store(server_.healthy(), std::memory_order_relaxed);
    const int slept = co_await runtime::sleep_for(health_refresh_interval);
    if (slept != 0) break;
  }
}

runtime::task<void> shard_ports::serve() {
  std::vector<runtime::task<void>> shard_tasks;
  if (shard_count_ > 1) {
    healthy_.store(server_.healthy(), std::memory_order_relaxed);
    shard_tasks.push_back(publish_health());
  }
  for (unsigned shard = 0; shard < shard_count_; ++shard) {
    shard_tasks.push_back(runtime::submit_to(shard, [this, shard]() -> runtime::task<void> {
      co_await serve_shard(*shards_[shard]);
    }));
  }
  co_await runtime::when_all(std::move(shard_tasks));
}

runtime::task<void> shard_ports::serve_shard(shard_state& state) {
  std::vector<runtime::task<void>> serving;
  for (size_t i = 0; i < state.listeners.size(); ++i) {
    const net::grpc::client_port_services& services = state.listener_secure[i] ? state.tls_services : state.services;
    serving.push_back([](net::listener& l, const net::grpc::client_port_services& port, shard_state& s) -> runtime::task<void> {
      co_await l.serve([&port, &s](net::connection conn) {
        return net::grpc::serve_client_connection(std::move(conn), port, s.config);
      });
    }(state.listeners[i], services, state));
  }
  // At close(): every connection of this shard is ended, and waited for.
  serving.push_back([](shard_state& s) -> runtime::task<void> {
    co_await s.closing;
    co_await net::grpc::close_client_connections(s.live);
  }(state));
  co_await runtime::when_all(std::move(serving));
}

runtime::task<void> shard_ports::close() {
  closing_ = true;
  for (unsigned shard = 0; shard < shard_count_; ++shard) {
    co_await runtime::submit_to(shard, [this, shard]() -> runtime::task<void> {
      if (!shards_[shard]) co_return;
      shard_state& state = *shards_[shard];
      for (auto& lst : state.listeners) co_await lst.close();
      state.closing.notify();
    });
  }
}

runtime::task<bool> shard_ports::finish() {
  const bool wound_down = co_await net::grpc::wait_for_no_relay_ends(relay_wind_down_ms_max);
  if (!wound_down)
    log::warn("relayed calls still open at shutdown", {{"calls", uint64_t(net::grpc::live_relay_ends())}});
  for (unsigned shard = 0; shard < shard_count_; ++shard) {
    co_await runtime::submit_to(shard, [this, shard] { shards_[shard].reset(); });
  }
  co_return wound_down;
}

}  // namespace ringkv::server
