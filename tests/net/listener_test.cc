// net::listener: TCP echo with 1,000 concurrent loopback connections (every byte checked), the accept
// loop (serve) ending cleanly on close, close() cancelling a pending accept, and SO_REUSEPORT sharing.
#include "net/tcp/listener.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "runtime/timer.h"
#include "runtime/when_all.h"
#include "tests/net/tcp_test_support.h"

namespace ringkv::net {
namespace {

using namespace testing;

constexpr unsigned echo_connections = 1000;
constexpr unsigned echo_rounds = 3;

// Smaller buffers than the defaults: 2,000 sockets in one process stay within a few tens of MiB.
connection_limits echo_limits() {
  connection_limits limits;
  limits.read_buffer_bytes = 8 * 1024;
  limits.send_buffer_bytes_limit = 16 * 1024;
  return limits;
}

// Echo handler: sends back whatever arrives until the peer closes.
runtime::task<void> echo(connection conn) {
  for (;;) {
    const int got = co_await conn.fill();
    if (got <= 0) break;
    std::span<const std::byte> data = conn.readable();
    const int sent = co_await conn.write(data);
    if (sent < 0) break;
    conn.consume(data.size());
  }
  co_await conn.close();
}

// Message size of a client's round: 1 byte .. 12 KiB, different for every client and round.
size_t message_bytes(unsigned client, unsigned round) { return 1 + (client * 977 + round * 4099) % 12288; }

// One client: writes its rounds while a concurrent reader takes the echo back and compares it.
// Returns the number of bytes that came back wrong or missing (0 when all is well).
runtime::task<size_t> echo_client(endpoint server, unsigned client) {
  result<connection> connected = co_await connect(server, 10s, echo_limits());
  if (!connected) {
    ADD_FAILURE() << "client " << client << ": " << connected.error_message();
    co_return 1;
  }
  connection& conn = connected.value();
  size_t total = 0;
  for (unsigned r = 0; r < echo_rounds; ++r) total += message_bytes(client, r);
  auto writer = [&]() -> runtime::task<size_t> {
    uint64_t at = 0;
    for (unsigned r = 0; r < echo_rounds; ++r) {
      std::vector<std::byte> message = pattern(message_bytes(client, r), client, at);
      const int sent = co_await conn.write(message);
      if (sent != static_cast<int>(message.size())) co_return message.size();
      at += message.size();
    }
    co_return 0;
  };
  auto reader = [&]() -> runtime::task<size_t> {
    std::vector<std::byte> echoed(total);
    const int got = co_await conn.read_exact(echoed);
    if (got != static_cast<int>(total)) co_return total;
    std::vector<std::byte> expected = pattern(total, client);
    size_t wrong = 0;
    for (size_t i = 0; i < total; ++i) wrong += echoed[i] != expected[i];
    co_return wrong;
  };
  auto [write_failures, read_failures] = co_await runtime::when_all(writer(), reader());
  co_await conn.close();
  co_return write_failures + read_failures;
}

TEST(Listener, EchoesEveryByteForAThousandConcurrentConnections) {
  run_on_runtime([]() -> runtime::task<int> {
    listen_options options;
    options.backlog = 2048;
    options.limits = echo_limits();
    listener l = open_loopback_listener(options);
    runtime::task_group server;
    int serve_status = -1;
    server.spawn([](listener& l, int& status) -> runtime::task<void> {
      status = co_await l.serve(echo);
    }(l, serve_status));
    std::vector<runtime::task<size_t>> clients;
    for (unsigned c = 0; c < echo_connections; ++c) clients.push_back(echo_client(l.local(), c));
    std::vector<size_t> wrong = co_await runtime::when_all(std::move(clients));
    co_await l.close();
    co_await server.wait();
    EXPECT_EQ(serve_status, 0);
    EXPECT_EQ(std::count(wrong.begin(), wrong.end(), 0u), static_cast<long>(echo_connections));
    co_return 0;
  });
}

TEST(Listener, CloseCancelsAPendingAccept) {
  run_on_runtime([]() -> runtime::task<int> {
    listener l = open_loopback_listener();
    int accept_error = 0;
    runtime::task_group group;
    group.spawn([](listener& l, int& error) -> runtime::task<void> {
      result<connection> accepted = co_await l.accept();
      error = accepted.error();
    }(l, accept_error));
    co_await runtime::sleep_for(20ms);
    EXPECT_EQ(accept_error, 0);  // still waiting: nobody connected
    co_await l.close();
    co_await group.wait();
    EXPECT_EQ(accept_error, -ECANCELED);
    EXPECT_FALSE(l.is_open());
    result<connection> after = co_await l.accept();
    EXPECT_EQ(after.error(), -ECANCELED);
    co_return 0;
  });
}

TEST(Listener, SeveralCoroutinesMayAcceptAtOnce) {
  run_on_runtime([]() -> runtime::task<int> {
    listener l = open_loopback_listener();
    constexpr int acceptors = 3;
    std::vector<runtime::task<result<connection>>> accepting;
    for (int i = 0; i < acceptors; ++i) accepting.push_back(l.accept());
    std::vector<runtime::task<result<connection>>> connecting;
    for (int i = 0; i < acceptors; ++i) connecting.push_back(connect(l.local(), 5s));
    auto [accepted, connected] =
        co_await runtime::when_all(runtime::when_all(std::move(accepting)), runtime::when_all(std::move(connecting)));
    for (int i = 0; i < acceptors; ++i) {
      EXPECT_TRUE(accepted[i].ok()) << accepted[i].error_message();
      EXPECT_TRUE(connected[i].ok()) << connected[i].error_message();
      if (accepted[i]) co_await accepted[i].value().close();
      if (connected[i]) co_await connected[i].value().close();
    }
    co_await l.close();
    co_return 0;
  });
}

TEST(Listener, ReusePortLetsTwoListenersShareAPort) {
  run_on_runtime([]() -> runtime::task<int> {
    listen_options shared;
    shared.sharing = port_sharing::reuse_port;
    listener first = open_loopback_listener(shared);
    result<listener> second = listener::open(first.local(), shared);
    EXPECT_TRUE(second.ok()) << second.error_message();
    result<listener> exclusive = listener::open(first.local(), {});
    EXPECT_EQ(exclusive.error(), -EADDRINUSE);
    co_await first.close();
    if (second) co_await second.value().close();
    co_return 0;
  });
}

TEST(Listener, BadAddressGivesAClearError) {
  auto ep = endpoint::parse("203.0.113.1:0");  // not an address of this machine
  ASSERT_TRUE(ep);
  result<listener> l = listener::open(*ep);
  EXPECT_EQ(l.error(), -EADDRNOTAVAIL);
  EXPECT_FALSE(l.error_message().empty());
}

}  // namespace
}  // namespace ringkv::net
