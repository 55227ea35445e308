// client/client.h - the etcd v3 client's connection layer: several endpoints, one live HTTP/2
// connection at a time (to the current endpoint), failover to the next endpoint when one is down or
// answers UNAVAILABLE, a deadline and an optional cancel token on every call. Runs on one shard.
//
//   unary(call) --> ensure_connected --(dial endpoints[current], next on failure)--> grpc_connection
//        |                                                                                |
//        +<---- UNAVAILABLE: abandon this connection, try the next endpoint --------------+
//
// Retry rule (as Go clientv3): a call marked `idempotent` (reads, lease revoke / time-to-live) is
// retried on the next endpoint after UNAVAILABLE until its deadline or `failover_rounds_limit` passes
// over the endpoints. An `at_most_once` call (writes) is retried only when it never left this process;
// once sent, a lost connection or passed deadline is reported with status.ambiguous = true.
// Auth (client_config::user / password): the client Authenticates before its first call (or stream)
// and sends the token as every call's "token" metadata. A call answered UNAUTHENTICATED "etcdserver:
// invalid auth token" (the token expired or the member restarted) makes it Authenticate again once and
// resend: that answer comes before the member proposes anything (etcd's AuthInfoFromCtx, ringkv's
// auth_gate), so the request was not applied and resending it is safe for writes too (as Go clientv3).
// A server without auth enabled ("authentication is not enabled") is used without a token.
// TLS: client_config::tls, a dialing context (net/tls; make_tls_context below builds one from files).
// The KV / watch / lease / recipe classes are built on this object; it must be close()d before it is
// destroyed, after every stream user (watch_hub, lease_keeper) closed.
#pragma once

#include <google/protobuf/message_lite.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "client/endpoint.h"
#include "client/grpc_connection.h"
#include "client/status.h"
#include "runtime/cancel.h"
#include "runtime/condition.h"
#include "runtime/task.h"

namespace ringkv::client {

struct client_config {
  std::vector<endpoint> endpoints;
  std::chrono::nanoseconds dial_timeout{std::chrono::seconds(2)};
  std::chrono::nanoseconds call_timeout{std::chrono::seconds(5)};  // default deadline of one call
  uint32_t failover_rounds_limit = 3;  // passes over every endpoint for one retried call
  std::chrono::nanoseconds failover_pause{std::chrono::milliseconds(100)};  // between passes
  std::shared_ptr<const net::tls::tls_context> tls;  // a dialing context (ALPN h2), or null
  // After each dial, ask the member for the raft leader (Status, MemberList) and move the connection
  // to the leader's endpoint when it is one of `endpoints`: writes (and linearizable reads) then skip
  // the follower's forwarding hop. Checked again only when the client dials again (after a failover).
  bool prefer_leader = false;
  std::string user;      // with password: etcd auth (see above); empty: no Authenticate
  std::string password;
};

// A dialing TLS context for gRPC (ALPN h2) trusting `ca_file`, presenting `cert_file` / `key_file`
// when given (etcdctl's --cacert / --cert / --key); null with *error set when a file is refused.
std::shared_ptr<const net::tls::tls_context> make_tls_context(const std::string& ca_file, const std::string& cert_file,
                                                             const std::string& key_file, std::string* error);

struct call_options {
  std::chrono::nanoseconds timeout{0};     // zero: client_config::call_timeout
  runtime::cancel_token* cancel = nullptr;  // the call ends with CANCELLED when it fires
};

enum class retry_policy : uint8_t { idempotent, at_most_once };

class client {
 public:
  explicit client(client_config config);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // Dials the endpoints in order until one accepts (not required: every call connects on demand).
  runtime::task<status> connect();

  // One unary call with failover (see the retry rule above).
  runtime::task<status> unary(rpc_method method, const google::protobuf::MessageLite& request,
                              google::protobuf::MessageLite* response, retry_policy policy, call_options options = {});

  // unary() with the reply typed: result<Response> (the request as built by the caller).
  template <typename Response>
  runtime::task<result<Response>> call(rpc_method method, const google::protobuf::MessageLite& request,
                                       retry_policy policy, call_options options) {
    result<Response> out;
    out.status = co_await unary(method, request, &out.value, policy, options);
    co_return out;
  }

  // The live connection for a stream (Watch, LeaseKeepAlive), dialing (with failover) until `deadline`.
  runtime::task<result<grpc_connection*>> stream_connection(runtime::clock::time_point deadline);
  // A stream on `broken` failed: the next call or stream dials the next endpoint.
  void abandon(grpc_connection* broken);
  // One turn of a stream user's pump (watch_hub, lease_keeper): dials with failover, opens a `method`
  // stream and awaits serve(stream); when that returns (the stream broke) and *closing is still false,
  // abandons the connection so the next turn goes to the next endpoint. False when nothing was dialed.
  runtime::task<bool> serve_stream(rpc_method method, std::function<runtime::task<void>(grpc_stream&)> serve,
                                   const bool* closing,
                                   size_t inbox_bytes_limit = grpc_connection::stream_inbox_bytes_limit);

  const client_config& config() const { return config_; }
  const endpoint& current_endpoint() const { return config_.endpoints[current_]; }

  // Ends every call on the connection and closes it.
  runtime::task<void> close();

 private:
  runtime::task<status> ensure_connected(runtime::clock::time_point deadline);
  runtime::task<void> move_to_leader(runtime::clock::time_point deadline);  // prefer_leader, after a dial
  bool needs_token() const { return !config_.user.empty() && token_generation_ == 0; }
  // Authenticates on the live connection unless the token of `stale_generation` was already replaced
  // (one coroutine authenticates at a time; the others wait for its token).
  runtime::task<status> authenticate(uint64_t stale_generation, runtime::clock::time_point deadline);
  runtime::task<void> retire_connection();

  client_config config_;
  std::unique_ptr<grpc_connection> connection_;  // to endpoints[current_] while connected
  bool abandoned_ = false;                        // connection_ answered UNAVAILABLE or its stream broke
  size_t current_ = 0;                            // index into config_.endpoints
  bool dialing_ = false;                          // one coroutine dials at a time; others wait
  bool closed_ = false;
  runtime::condition dial_done_;
  std::string token_;              // etcd auth token sent with every call (empty: none)
  uint64_t token_generation_ = 0;  // how many times Authenticate answered (0: not yet)
  bool authenticating_ = false;
  runtime::condition auth_done_;
};

}  // namespace ringkv::client
