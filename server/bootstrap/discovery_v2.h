// server/bootstrap/discovery_v2.h — etcd's v2 discovery protocol (--discovery URL), as etcd 3.4's
// etcdserver/api/v2discovery runs it: the discovery URL names a directory of an etcd v2 keys API (a
// discovery service such as discovery.etcd.io proxies one), and every new member of the cluster
//
//   member                                   discovery service (v2 keys API, under the URL's path)
//   GET <url>/_config/size          ──────>  size of the cluster (a number), set when the token was made
//   GET <url>                       ──────>  the registered members, X-Etcd-Index
//     already `size` members and not one of them: "discovery: cluster is full" (nothing registered)
//   PUT <url>/<member id hex>?prevExist=false   value=name=peerurl[,name=peerurl2]
//     (already there: "discovery: found duplicate id" — this member registered in an earlier start)
//   GET <url> again, then until `size` members are registered:
//   GET <url>?wait=true&recursive=true&waitIndex=<index+1>   (long poll) and GET <url> again
//
// The initial cluster is the values of the first `size` members by creation index, joined by ','; each
// member computes the same one, so they all agree on the member and cluster ids (member_identity.h)
// without talking. A failure to reach the service (no connection, no answer in time, HTTP 500/503) is
// retried after 2^n seconds (n = retries so far, at most 8), without end, as etcd does; the protocol's
// own answers (no size key, a bad size, duplicate id, full cluster) end the start.
// Blocking sockets, http or https (blocking_http.h): it runs in main() before the runtime starts.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ringkv::server {

// etcd 3.4's discovery errors; the texts are etcd's.
enum class discovery_error {
  none,
  invalid_url,       // "discovery: invalid URL"
  bad_size_key,      // "discovery: size key is bad"
  size_not_found,    // "discovery: size key not found"
  duplicate_id,      // "discovery: found duplicate id"
  duplicate_name,    // "discovery: found duplicate name"
  full_cluster,      // "discovery: cluster is full"
  too_many_retries,  // "discovery: too many retries"
  bad_endpoint,      // "discovery: bad discovery endpoint" (the answer is not the v2 keys API's JSON)
  other,             // anything else (the detail says what)
};
const char* discovery_error_text(discovery_error error);

struct discovery_settings {
  std::string url;    // --discovery: http(s)://host[:port]/path-of-the-token
  std::string proxy;  // --discovery-proxy: "" or an HTTP proxy (http://host:port or host:port)
  uint64_t member_id = 0;  // registered as <url>/<lower-case hex>
  std::string self;        // the registered value: "name=peerurl,..." (sorted pairs, etcd's URLsMap.String)
  std::chrono::milliseconds request_timeout{5000};  // one GET/PUT (etcd's client.DefaultRequestTimeout)
  std::chrono::milliseconds connect_timeout{30000};
  std::chrono::milliseconds wait_poll{60000};  // one long poll; then the members are read again
  uint32_t retries_max = UINT32_MAX;           // etcd: math.MaxUint32 (no end in practice)
  unsigned backoff_exponent_max = 8;           // 2^8 s = 256 s at most between retries
};

struct discovery_outcome {
  discovery_error error = discovery_error::none;
  std::string detail;           // with `other`: what failed; otherwise more context, may be empty
  std::string initial_cluster;  // success: "name=url,name=url,..." (the first `size` members' values)
};

// Runs the whole protocol for this member; blocks until `size` members registered or it failed.
discovery_outcome join_discovery_cluster(const discovery_settings& settings);

// ---- the pure steps, exposed for tests ----

// One registered member: a node of the token's directory.
struct discovery_node {
  std::string key;    // "/_etcd/registry/<token>/<member id hex>"
  std::string value;  // "name=peerurl,..."
  uint64_t created_index = 0;
};

// A v2 keys API answer: {"node":{...,"nodes":[...]}} or {"errorCode":100,"message":...}.
struct v2_answer {
  int error_code = 0;  // 0: no error; 100 key not found, 105 node exists (etcd's v2 error codes)
  std::string message;
  std::string value;                 // node.value
  std::vector<discovery_node> nodes;  // node.nodes without `_config`, sorted by created_index
};
// nullopt when `body` is not such JSON (etcd: ErrBadDiscoveryEndpoint).
std::optional<v2_answer> parse_v2_answer(std::string_view body);

// Where this member stands among `nodes` (sorted by creation): not full while this member's key is
// among the first `size` or fewer than `size` are registered (etcd's checkCluster loop).
bool cluster_is_full_without(const std::vector<discovery_node>& nodes, uint64_t size, std::string_view self_id_hex);

// The first `size` values joined by ',', checked as etcd's nodesToCluster does: every item is
// name=http(s)://host:port (else invalid_url) and there are exactly `size` distinct names (else
// duplicate_name).
discovery_outcome nodes_to_cluster(const std::vector<discovery_node>& nodes, uint64_t size);

}  // namespace ringkv::server
