// client/client.cc - dialing with failover and the per-call retry rule (client.h).
#include "client/client.h"

#include <cassert>
#include <optional>
#include <string_view>
#include <utility>

#include "etcd/rpc.pb.h"
#include "runtime/timer.h"

namespace ringkv::client {
namespace {

status deadline_status(bool maybe_applied) {
  return {grpc_code::deadline_exceeded, "context deadline exceeded", maybe_applied};
}

bool invalid_token(const status& s) {
  return s.code == grpc_code::unauthenticated && s.message == "etcdserver: invalid auth token";
}

bool auth_not_enabled(const status& s) {
  return s.code == grpc_code::failed_precondition && s.message == "etcdserver: authentication is not enabled";
}

}  // namespace

std::shared_ptr<const net::tls::tls_context> make_tls_context(const std::string& ca_file, const std::string& cert_file,
                                                             const std::string& key_file, std::string* error) {
  net::tls::tls_settings settings;
  settings.dialing = true;
  settings.alpn = {"h2"};  // gRPC
  settings.trusted_ca_file = ca_file;
  settings.cert_file = cert_file;
  settings.key_file = key_file;
  auto context = net::tls::tls_context::make(settings, *error);
  if (!context) *error = "TLS: " + *error;
  return context;
}

client::client(client_config config) : config_(std::move(config)) {
  assert(!config_.endpoints.empty() && "a client needs at least one endpoint");
}

client::~client() { assert((!connection_ || closed_) && "close() a client before destroying it"); }

runtime::task<status> client::connect() {
  co_return co_await ensure_connected(runtime::clock::now() + config_.call_timeout);
}

runtime::task<void> client::retire_connection() {
  if (!connection_) co_return;
  std::unique_ptr<grpc_connection> old = std::move(connection_);
  abandoned_ = false;
  current_ = (current_ + 1) % config_.endpoints.size();
  co_await old->close();  // its calls end with UNAVAILABLE; streams keep its state alive until dropped
}

runtime::task<status> client::ensure_connected(runtime::clock::time_point deadline) {
  while (dialing_) {
    if (!co_await dial_done_.wait_until([this] { return !dialing_; }, deadline)) co_return deadline_status(false);
  }
  if (closed_) co_return status{grpc_code::cancelled, "the client is closed"};
  if (connection_ && connection_->connected() && !abandoned_) co_return status{};
  dialing_ = true;
  status last{grpc_code::unavailable, "no endpoint tried"};
  if (connection_) co_await retire_connection();
  for (size_t tried = 0; tried < config_.endpoints.size() && !closed_; ++tried) {
    const auto left = deadline - runtime::clock::now();
    if (left <= std::chrono::nanoseconds::zero()) {
      last = deadline_status(false);
      break;
    }
    const endpoint& to = config_.endpoints[current_];
    std::string error;
    auto dialed = co_await grpc_connection::connect(to, std::min<std::chrono::nanoseconds>(left, config_.dial_timeout),
                                                    &error, config_.tls);
    if (dialed && !closed_) {
      connection_ = std::move(dialed);
      last = status{};
      break;
    }
    if (dialed) co_await dialed->close();
    last = status{grpc_code::unavailable, "dial " + to.text() + ": " + error};
    current_ = (current_ + 1) % config_.endpoints.size();
  }
  if (last.ok() && config_.prefer_leader) co_await move_to_leader(deadline);
  dialing_ = false;
  dial_done_.notify_all();
  co_return last;
}

namespace {

// The index in `endpoints` of a client URL ("http://127.0.0.1:2379") of member `id`, if any.
std::optional<size_t> member_endpoint(const etcdserverpb::MemberListResponse& members, uint64_t id,
                                      const std::vector<endpoint>& endpoints) {
  for (const auto& member : members.members()) {
    if (member.id() != id) continue;
    for (const std::string& url : member.clienturls()) {
      const auto scheme_end = url.find("://");
      const std::string_view host_port = std::string_view(url).substr(scheme_end == std::string::npos ? 0 : scheme_end + 3);
      for (size_t i = 0; i < endpoints.size(); ++i) {
        if (endpoints[i].text() == host_port) return i;
      }
    }
  }
  return std::nullopt;
}

}  // namespace

runtime::task<void> client::move_to_leader(runtime::clock::time_point deadline) {
  const etcdserverpb::StatusRequest status_request;
  etcdserverpb::StatusResponse status_reply;
  if (!(co_await connection_->call(rpc_method::status, status_request, &status_reply, deadline - runtime::clock::now())).ok()) {
    co_return;
  }
  const uint64_t leader = status_reply.leader();
  if (leader == 0 || leader == status_reply.header().member_id()) co_return;
  const etcdserverpb::MemberListRequest members_request;
  etcdserverpb::MemberListResponse members;
  if (!(co_await connection_->call(rpc_method::member_list, members_request, &members, deadline - runtime::clock::now())).ok()) {
    co_return;
  }
  const std::optional<size_t> at = member_endpoint(members, leader, config_.endpoints);
  const auto left = deadline - runtime::clock::now();
  if (!at || *at == current_ || left <= std::chrono::nanoseconds::zero()) co_return;
  std::string error;
  auto dialed = co_await grpc_connection::connect(config_.endpoints[*at], std::min<std::chrono::nanoseconds>(left, config_.dial_timeout),
                                                  &error, config_.tls);
  if (!dialed) co_return;  // stay on the follower
  if (closed_) {
    co_await dialed->close();
    co_return;
  }
  std::unique_ptr<grpc_connection> follower = std::exchange(connection_, std::move(dialed));
  current_ = *at;
  co_await follower->close();
}

runtime::task<status> client::authenticate(uint64_t stale_generation, runtime::clock::time_point deadline) {
  while (authenticating_) {
    if (!co_await auth_done_.wait_until([this] { return !authenticating_; }, deadline)) co_return deadline_status(false);
  }
  if (token_generation_ != stale_generation) co_return status{};  // another call renewed it meanwhile
  authenticating_ = true;
  etcdserverpb::AuthenticateRequest request;
  request.set_name(config_.user);
  request.set_password(config_.password);
  etcdserverpb::AuthenticateResponse reply;
  status answer = co_await ensure_connected(deadline);
  if (answer.ok()) {
    answer = co_await connection_->call(rpc_method::authenticate, request, &reply, deadline - runtime::clock::now());
  }
  if (answer.ok() || auth_not_enabled(answer)) {
    token_ = answer.ok() ? reply.token() : std::string();
    ++token_generation_;
    answer = status{};
  }
  authenticating_ = false;
  auth_done_.notify_all();
  co_return answer;
}

runtime::task<status> client::unary(rpc_method method, const google::protobuf::MessageLite& request,
                                    google::protobuf::MessageLite* response, retry_policy policy, call_options options) {
  const auto timeout = options.timeout.count() > 0 ? options.timeout : config_.call_timeout;
  const auto deadline = runtime::clock::now() + timeout;
  const size_t attempts_limit = config_.endpoints.size() * config_.failover_rounds_limit;
  status last{grpc_code::unavailable, "no attempt made"};
  bool renewed_token = false;
  bool resend_now = false;  // the token was renewed: no failover pause before resending
  for (size_t attempt = 0; attempt < attempts_limit; ++attempt) {
    if (options.cancel != nullptr && options.cancel->cancelled()) co_return status{grpc_code::cancelled, "context canceled"};
    const bool renewed_just_now = std::exchange(resend_now, false);
    if (attempt > 0 && attempt % config_.endpoints.size() == 0 && !renewed_just_now) {
      co_await runtime::sleep_until(std::min(deadline, runtime::clock::now() + config_.failover_pause), options.cancel);
    }
    const auto left = deadline - runtime::clock::now();
    if (left <= std::chrono::nanoseconds::zero()) co_return deadline_status(false);
    const status dialed = co_await ensure_connected(deadline);
    if (!dialed.ok()) {
      last = dialed;
      if (dialed.code != grpc_code::unavailable) co_return dialed;
      continue;
    }
    if (needs_token()) {
      const status authenticated = co_await authenticate(0, deadline);
      if (!authenticated.ok()) {
        last = authenticated;
        if (authenticated.code != grpc_code::unavailable) co_return authenticated;
        abandon(connection_.get());
        continue;
      }
    }
    grpc_connection* connection = connection_.get();
    bool sent = false;
    const uint64_t token_used = token_generation_;
    status answer = co_await connection->call(method, request, response, deadline - runtime::clock::now(),
                                              options.cancel, &sent, token_);
    if (invalid_token(answer) && !config_.user.empty() && !renewed_token) {
      renewed_token = true;  // once per call: a second refusal goes to the caller
      const status authenticated = co_await authenticate(token_used, deadline);
      if (!authenticated.ok()) co_return authenticated;
      resend_now = true;
      continue;
    }
    const bool write = policy == retry_policy::at_most_once;
    if (answer.code == grpc_code::unavailable) {
      abandon(connection);
      if (sent && write) {
        answer.ambiguous = true;
        co_return answer;
      }
      last = std::move(answer);
      continue;
    }
    if (sent && write && (answer.code == grpc_code::deadline_exceeded || answer.code == grpc_code::cancelled)) {
      answer.ambiguous = true;
    }
    co_return answer;
  }
  co_return last;
}

runtime::task<result<grpc_connection*>> client::stream_connection(runtime::clock::time_point deadline) {
  while (true) {
    const status dialed = co_await ensure_connected(deadline);
    if (dialed.ok()) co_return result<grpc_connection*>{status{}, connection_.get()};
    if (dialed.code != grpc_code::unavailable || runtime::clock::now() >= deadline) {
      co_return result<grpc_connection*>{dialed, nullptr};
    }
    co_await runtime::sleep_until(std::min(deadline, runtime::clock::now() + config_.failover_pause));
  }
}

runtime::task<bool> client::serve_stream(rpc_method method, std::function<runtime::task<void>(grpc_stream&)> serve,
                                         const bool* closing, size_t inbox_bytes_limit) {
  auto connection = co_await stream_connection(runtime::clock::now() + config_.call_timeout);
  if (!connection.ok() || *closing) co_return connection.ok();
  // A stream keeps the token it was opened with, and a stale one gets its watches cancelled: every new
  // stream takes a fresh token (one Authenticate per stream opened; streams open rarely).
  if (!config_.user.empty() &&
      !(co_await authenticate(token_generation_, runtime::clock::now() + config_.call_timeout)).ok()) {
    abandon(connection.value);
    co_return true;
  }
  std::unique_ptr<grpc_stream> stream = co_await connection.value->open_stream(method, inbox_bytes_limit, token_);
  if (stream) co_await serve(*stream);
  const bool reader_too_slow = stream && stream->overflowed();  // the endpoint is fine: stay on it
  if (!*closing && !reader_too_slow) abandon(connection.value);
  co_return true;
}

void client::abandon(grpc_connection* broken) {
  if (connection_.get() == broken) abandoned_ = true;
}

runtime::task<void> client::close() {
  if (closed_) co_return;
  closed_ = true;
  while (dialing_) co_await dial_done_.wait();
  if (connection_) co_await connection_->close();
}

}  // namespace ringkv::client
