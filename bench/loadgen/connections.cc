// Connection opening, leader discovery, closing.
#include "bench/loadgen/connections.h"

#include "etcd/rpc.pb.h"

namespace ringkv::bench {
namespace {

runtime::task<std::vector<endpoint>> find_leader(const bench_options& options, std::string* error) {
  for (const endpoint& candidate : options.endpoints) {
    std::string connect_error;
    auto client = co_await etcd_client::connect(candidate, options.dial_timeout, &connect_error);
    if (!client) continue;
    const etcdserverpb::StatusRequest status_request;
    const etcdserverpb::MemberListRequest members_request;
    etcdserverpb::StatusResponse status;
    etcdserverpb::MemberListResponse members;
    rpc_status s = co_await client->call(rpc_method::status, status_request, &status);
    if (s.ok()) s = co_await client->call(rpc_method::member_list, members_request, &members);
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

runtime::task<connection_set> open_connections(const bench_options& options, uint32_t count) {
  connection_set set;
  std::vector<endpoint> targets = options.endpoints;
  if (options.target_leader) {
    targets = co_await find_leader(options, &set.error);
    if (targets.empty()) co_return set;
  }
  for (uint32_t i = 0; i < count; ++i) {
    const endpoint& to = targets[i % targets.size()];
    auto client = co_await etcd_client::connect(to, options.dial_timeout, &set.error);
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
