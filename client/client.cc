// client/client.cc - dialing with failover and the per-call retry rule (client.h).
#include "client/client.h"

#include <cassert>
#include <utility>

#include "runtime/timer.h"

namespace ringkv::client {
namespace {

status deadline_status(bool maybe_applied) {
  return {grpc_code::deadline_exceeded, "context deadline exceeded", maybe_applied};
}

}  // namespace

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
  dialing_ = false;
  dial_done_.notify_all();
  co_return last;
}

runtime::task<status> client::unary(rpc_method method, const google::protobuf::MessageLite& request,
                                    google::protobuf::MessageLite* response, retry_policy policy, call_options options) {
  const auto timeout = options.timeout.count() > 0 ? options.timeout : config_.call_timeout;
  const auto deadline = runtime::clock::now() + timeout;
  const size_t attempts_limit = config_.endpoints.size() * config_.failover_rounds_limit;
  status last{grpc_code::unavailable, "no attempt made"};
  for (size_t attempt = 0; attempt < attempts_limit; ++attempt) {
    if (options.cancel != nullptr && options.cancel->cancelled()) co_return status{grpc_code::cancelled, "context canceled"};
    if (attempt > 0 && attempt % config_.endpoints.size() == 0) {
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
    grpc_connection* connection = connection_.get();
    bool sent = false;
    status answer = co_await connection->call(method, request, response, deadline - runtime::clock::now(),
                                              options.cancel, &sent);
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
  std::unique_ptr<grpc_stream> stream = co_await connection.value->open_stream(method, inbox_bytes_limit);
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
