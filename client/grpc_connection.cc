// client/grpc_connection.cc - grpc_connection on net/tcp (connection) and net/grpc (grpc_client_session on memory buffers).
//
// Two coroutines drive a connection: the reader (fill -> session.feed -> produce_output -> wake the
// writer) and the writer (produce_output, write pending_output in one send, repeat while output is
// ready, then park). Calls started by client coroutines queue frames in the session, whose notifier
// wakes the writer once per batch: every call started in one loop turn leaves in one write.
// Session callbacks never resume a caller inline (they complete a runtime::completion or notify a
// runtime::notifier, which schedule it), so a caller that finishes and closes the client cannot destroy
// the session while it is parsing. The two pumps run in a runtime::gate that close() waits on.
#include "client/grpc_connection.h"

#include <cassert>
#include <deque>
#include <optional>

#include "net/grpc/grpc_client_session.h"
#include "net/tcp/connect.h"
#include "net/tls/tls_handshake.h"
#include "runtime/completion.h"
#include "runtime/gate.h"
#include "runtime/notifier.h"
#include "runtime/timer.h"

namespace ringkv::client {
namespace {

status from_grpc(const net::grpc::status& s) {
  return {s.code, s.message};
}

status connection_lost(const std::string& why) { return {grpc_code::unavailable, why}; }

// etcd's auth token as call metadata (none when empty).
net::grpc::grpc_client_session::metadata_list token_metadata(std::string_view token) {
  if (token.empty()) return {};
  return {{"token", std::string(token)}};
}

}  // namespace

const char* rpc_path(rpc_method method) {
  switch (method) {
    case rpc_method::range: return "/etcdserverpb.KV/Range";
    case rpc_method::put: return "/etcdserverpb.KV/Put";
    case rpc_method::txn: return "/etcdserverpb.KV/Txn";
    case rpc_method::lease_grant: return "/etcdserverpb.Lease/LeaseGrant";
    case rpc_method::status: return "/etcdserverpb.Maintenance/Status";
    case rpc_method::member_list: return "/etcdserverpb.Cluster/MemberList";
    case rpc_method::watch: return "/etcdserverpb.Watch/Watch";
    case rpc_method::lease_keepalive: return "/etcdserverpb.Lease/LeaseKeepAlive";
    case rpc_method::delete_range: return "/etcdserverpb.KV/DeleteRange";
    case rpc_method::compact: return "/etcdserverpb.KV/Compact";
    case rpc_method::lease_revoke: return "/etcdserverpb.Lease/LeaseRevoke";
    case rpc_method::lease_time_to_live: return "/etcdserverpb.Lease/LeaseTimeToLive";
    case rpc_method::authenticate: return "/etcdserverpb.Auth/Authenticate";
  }
  return "";
}

struct grpc_connection::impl {
  // Built from a connected socket (net::connection's default constructor is not usable here: its
  // inline `= default` needs the complete connection::state).
  explicit impl(net::connection connected) : conn(std::move(connected)) {}

  net::connection conn;
  std::unique_ptr<net::grpc::grpc_client_session> session;
  std::string failure;  // why the connection ended (empty while it is up)
  bool closing = false;
  runtime::notifier writer_wakeup;
  runtime::gate pumps;  // the reader and the writer
  std::string serialize_buffer;  // reused for every outbound message

  bool up() const { return session != nullptr; }

  void fail(std::string why) {
    if (failure.empty()) failure = std::move(why);
    session.reset();  // unfinished calls end with unavailable (their callbacks schedule the callers)
    writer_wakeup.notify();
  }

  runtime::task<void> reader() {
    while (up()) {
      const int filled = co_await conn.fill(1);
      if (!up()) break;
      if (filled <= 0) {
        fail(filled == 0 ? "connection closed by the server" : "recv: " + net::error_text(filled));
        break;
      }
      auto bytes = conn.readable();
      const auto verdict = session->feed({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
      conn.consume(bytes.size());
      if (!up()) break;  // a callback's caller cannot run inline, but stay defensive
      if (verdict == net::grpc::session_verdict::closed) {
        fail("HTTP/2 session closed: " + session->close_reason());
        break;
      }
      writer_wakeup.notify();
    }
  }

  runtime::task<void> writer() {
    while (up()) {
      const auto verdict = session->produce_output();
      while (up() && session->has_output()) {
        auto out = session->pending_output();
        const int written = co_await conn.write({reinterpret_cast<const std::byte*>(out.data()), out.size()});
        if (!up()) break;
        if (written < 0) {
          fail("send: " + net::error_text(written));
          break;
        }
        session->consume_output(static_cast<size_t>(written));
        session->produce_output();
      }
      if (!up()) break;
      if (verdict == net::grpc::session_verdict::closed) {
        fail("HTTP/2 session closed: " + session->close_reason());
        break;
      }
      co_await writer_wakeup;
    }
  }

  std::string_view serialize(const google::protobuf::MessageLite& message) {
    serialize_buffer.resize(message.ByteSizeLong());
    message.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(serialize_buffer.data()));
    return serialize_buffer;
  }
};

namespace {

// A bidirectional call. Its state is shared with the session's callbacks, which may outlive the
// stream object (the session ends every call when it goes away).
class grpc_bidi_stream final : public grpc_stream {
 public:
  struct shared_state {
    std::deque<std::string> inbox;
    size_t inbox_bytes = 0;        // sum of the inbox's message sizes
    size_t inbox_bytes_limit = 0;  // past it the stream overflows: later messages are dropped and
    bool overflowed = false;       // receive() ends it with RESOURCE_EXHAUSTED once the inbox is drained
    bool done = false;
    status final_status;
    runtime::notifier changed;  // a message arrived or the call ended
  };

  static std::unique_ptr<grpc_bidi_stream> open(const std::shared_ptr<grpc_connection::impl>& client, const char* path,
                                                size_t inbox_bytes_limit, std::string_view token) {
    if (!client->up()) return nullptr;
    auto state = std::make_shared<shared_state>();
    state->inbox_bytes_limit = inbox_bytes_limit;
    net::grpc::grpc_client_session::call_callbacks callbacks;
    callbacks.on_message = [state](std::string_view message) {
      if (state->overflowed) return;
      // An inbox under its limit takes any message (at most message_bytes_limit): one response bigger
      // than the limit, such as a resumed watch's catch-up batch, must not overflow every new stream.
      if (state->inbox_bytes >= state->inbox_bytes_limit) {
        state->overflowed = true;  // the reader is too slow: drop from here on, end after the inbox
      } else {
        state->inbox.emplace_back(message);
        state->inbox_bytes += message.size();
      }
      state->changed.notify();
    };
    callbacks.on_done = [state](const net::grpc::status& s) {
      state->done = true;
      state->final_status = s.ok() ? status{grpc_code::cancelled, "stream ended by the server"} : from_grpc(s);
      state->changed.notify();
    };
    const auto id = client->session->start_call(path, std::move(callbacks), token_metadata(token));
    if (id < 0) return nullptr;
    return std::unique_ptr<grpc_bidi_stream>(new grpc_bidi_stream(client, id, std::move(state)));
  }

  ~grpc_bidi_stream() override {
    if (!state_->done && client_.up()) client_.session->cancel(id_);
  }

  runtime::task<status> send(const google::protobuf::MessageLite& message) override {
    if (state_->done) co_return state_->final_status;
    if (!client_.up()) co_return connection_lost(client_.failure);
    if (!client_.session->write(id_, client_.serialize(message))) {
      co_return status{grpc_code::unavailable, "stream refused the message"};
    }
    co_return status{};
  }

  runtime::task<status> receive(google::protobuf::MessageLite& message) override {
    while (state_->inbox.empty() && !state_->done && !state_->overflowed) co_await state_->changed;
    if (state_->inbox.empty() && state_->overflowed) {
      co_return status{grpc_code::resource_exhausted, "stream inbox over " + std::to_string(state_->inbox_bytes_limit) +
                                                          " bytes: the reader is too slow"};
    }
    if (state_->inbox.empty()) co_return state_->final_status;
    const bool parsed = message.ParseFromString(state_->inbox.front());
    state_->inbox_bytes -= state_->inbox.front().size();
    state_->inbox.pop_front();
    co_return parsed ? status{} : status{grpc_code::internal, "could not parse a stream message"};
  }

  runtime::task<void> close() override {
    if (!state_->done && client_.up()) client_.session->cancel(id_);
    co_return;
  }

  bool overflowed() const override { return state_->overflowed; }

 private:
  grpc_bidi_stream(std::shared_ptr<grpc_connection::impl> client, net::grpc::client_call_id id,
                   std::shared_ptr<shared_state> state)
      : owner_(std::move(client)), client_(*owner_), id_(id), state_(std::move(state)) {}

  std::shared_ptr<grpc_connection::impl> owner_;  // a stream may outlive its grpc_connection (closed)
  grpc_connection::impl& client_;
  net::grpc::client_call_id id_;
  std::shared_ptr<shared_state> state_;
};

}  // namespace

grpc_connection::grpc_connection(std::shared_ptr<impl> state) : impl_(std::move(state)) {}

grpc_connection::~grpc_connection() {
  assert((!impl_ || impl_->pumps.inside() == 0) && "close() an grpc_connection before destroying it");
}

runtime::task<std::unique_ptr<grpc_connection>> grpc_connection::connect(const endpoint& to, std::chrono::nanoseconds timeout,
                                                                 std::string* error,
                                                                 std::shared_ptr<const net::tls::tls_context> tls) {
  auto address = net::endpoint::parse(to.host + ":" + std::to_string(to.port));
  if (!address) {
    *error = "not an IP address: " + to.host + " (names are not resolved)";
    co_return nullptr;
  }
  auto connected = co_await net::connect(*address, timeout);
  if (!connected) {
    *error = connected.error_message();
    co_return nullptr;
  }
  if (tls) {
    net::tls::handshake_limits limits;
    limits.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
    net::tls::handshake_outcome outcome = co_await net::tls::client_handshake(connected.value(), tls, limits, to.host);
    if (!outcome.ok) {
      *error = outcome.error;
      co_await connected.value().close();
      co_return nullptr;
    }
  }
  auto state = std::make_unique<impl>(std::move(connected.value()));
  net::grpc::client_options session_options;
  session_options.authority = to.host + ":" + std::to_string(to.port);
  session_options.max_response_bytes = message_bytes_limit;
  state->session = std::make_unique<net::grpc::grpc_client_session>(session_options);
  impl* raw = state.get();
  state->session->set_output_ready_notifier([](void* self) { static_cast<impl*>(self)->writer_wakeup.notify(); }, raw);
  const bool pumps_started = raw->pumps.spawn(raw->reader()) && raw->pumps.spawn(raw->writer());
  assert(pumps_started && "a new client's gate is open");
  (void)pumps_started;
  co_return std::unique_ptr<grpc_connection>(new grpc_connection(std::shared_ptr<impl>(std::move(state))));
}

namespace {

// Resets one unary call's stream when its cancel token fires (linked on the token while in flight).
struct call_canceller : runtime::detail::cancellable {
  grpc_connection::impl* connection = nullptr;
  net::grpc::client_call_id id = -1;
  bool fired = false;
};

}  // namespace

runtime::task<status> grpc_connection::call(rpc_method method, const google::protobuf::MessageLite& request,
                                            google::protobuf::MessageLite* response, std::chrono::nanoseconds timeout,
                                            runtime::cancel_token* cancel, bool* sent, std::string_view token) {
  if (sent != nullptr) *sent = false;
  if (!impl_->up()) co_return connection_lost(impl_->failure);
  if (cancel != nullptr && cancel->cancelled()) co_return status{grpc_code::cancelled, "context canceled"};
  // Lives in this frame until the session's done callback sets it (or the session goes away, which
  // ends every call with unavailable).
  runtime::completion<status> done;
  const auto id = impl_->session->unary(
      rpc_path(method), impl_->serialize(request), [&done, response](const net::grpc::status& s, std::string_view bytes) {
        status result = from_grpc(s);
        if (result.ok() && response != nullptr &&
            !response->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
          result = {grpc_code::internal, "could not parse the response", false};
        }
        done.set(std::move(result));
      },
      token_metadata(token));
  if (id < 0) co_return status{grpc_code::unavailable, "the HTTP/2 session refused a new stream", false};
  if (sent != nullptr) *sent = true;
  impl* connection = impl_.get();
  std::optional<runtime::alarm> deadline;
  bool expired = false;
  if (timeout.count() > 0) {
    deadline.emplace(runtime::clock::now() + timeout, [connection, id, &expired] {
      expired = true;
      if (connection->up()) connection->session->cancel(id);
    });
  }
  call_canceller canceller;
  canceller.connection = connection;
  canceller.id = id;
  canceller.on_cancel = [](runtime::detail::cancellable* self) {
    auto* c = static_cast<call_canceller*>(self);
    c->fired = true;
    if (c->connection->up()) c->connection->session->cancel(c->id);
  };
  if (cancel != nullptr) cancel->attach(&canceller);
  status result = co_await done;
  if (canceller.token != nullptr) canceller.token->detach(&canceller);
  if (expired && !result.ok()) result = {grpc_code::deadline_exceeded, "context deadline exceeded", false};
  if (canceller.fired && !result.ok()) result = {grpc_code::cancelled, "context canceled", false};
  co_return result;
}

bool grpc_connection::connected() const { return impl_->up(); }

runtime::task<std::unique_ptr<grpc_stream>> grpc_connection::open_stream(rpc_method method, size_t inbox_bytes_limit,
                                                                         std::string_view token) {
  co_return grpc_bidi_stream::open(impl_, rpc_path(method), inbox_bytes_limit, token);
}

runtime::task<void> grpc_connection::close() {
  if (impl_->closing) co_return;
  impl_->closing = true;
  if (impl_->up()) {
    // Let queued frames (e.g. stream cancels) leave before closing.
    impl_->writer_wakeup.notify();
    co_await runtime::yield();
  }
  impl_->fail("closed by the client");
  co_await impl_->conn.close();  // cancels the reader's pending recv
  co_await impl_->pumps.close();
}

}  // namespace ringkv::client
