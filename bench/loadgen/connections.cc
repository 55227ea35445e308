// Connection opening, leader discovery, closing.
#include "bench/loadgen/connections.h"

#include "client/client.h"
#include "etcd/rpc.pb.h"

namespace ringkv::bench {
namespace {

runtime::task<std::vector<endpoint>> find_leader(const bench_options& options,
                                                 const std::shared_ptr<const net::tls::tls_context>& tls, std::string* error) {
  for (const endpoint& candidate : options.endpoints) {
    std::string connect_error;
    auto client = co_await client::grpc_connection::connect(candidate, options.dial_timeout, &connect_error, tls);
    if (!client) continue;
    const etcdserverpb::StatusRequest status_request;
    const etcdserverpb::MemberListRequest members_request;
    etcdserverpb::StatusResponse status;
    etcdserverpb::MemberListResponse members;
    client::status s = co_await client->call(client::rpc_method::status, status_request, &status);
    if (s.ok()) s = co_await client->call(client::rpc_method::member_list, members_request, &members);
    co_await client->close();
    if (!s.ok()) continue;
    for (const auto& member : members.members()) {
      if (member.id() != status.leader()) continue;
      std::vector<endpoint> leader;
      for (const auto& url : member.clienturls()) {
        endpoint parsed;
        if (parse_endpoint(url, parsed)) leader.push_back(parsed);
      }
      if (!leader.empty()) co_return leader;
    }
  }
  *error = "failed to find a leader endpoint";
  co_return std::vector<endpoint>{};
}

}  // namespace

std::shared_ptr<const net::tls::tls_context> make_client_tls(const bench_options& options, std::string* error) {
  if (!options.tls) return nullptr;
  return client::make_tls_context(options.cacert, options.cert, options.key, error);
}

runtime::task<connection_set> open_connections(const bench_options& options, uint32_t count) {
  connection_set set;
  const std::shared_ptr<const net::tls::tls_context> tls = make_client_tls(options, &set.error);
  if (options.tls && !tls) co_return set;
  std::vector<endpoint> targets = options.endpoints;
  if (options.target_leader) {
    targets = co_await find_leader(options, tls, &set.error);
    if (targets.empty()) co_return set;
  }
  for (uint32_t i = 0; i < count; ++i) {
    const endpoint& to = targets[i % targets.size()];
    auto client = co_await client::grpc_connection::connect(to, options.dial_timeout, &set.error, tls);
    if (!client) {
      set.error = "dial error: " + to.host + ":" + std::to_string(to.port) + ": " + set.error;
      co_return set;
    }
    set.clients.push_back(std::move(client));
  }
  co_return set;
}

runtime::task<void> close_connections(connection_set& set) {
  for (auto& client : set.clients) co_await client->close();
  set.clients.clear();
}

}  // namespace ringkv::bench
