// net::connect: connecting with a deadline. A peer that never answers gives -ETIMEDOUT close to the
// deadline; a port nobody listens on gives -ECONNREFUSED at once.
#include "net/tcp/connect.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/timer.h"
#include "tests/net/tcp_test_support.h"

namespace ringkv::net {
namespace {

using namespace testing;

TEST(Connect, APeerThatNeverAnswersTimesOut) {
  run_on_runtime([]() -> runtime::task<int> {
    // A listener with backlog 0 that never accepts: its queue holds one connection, after that the
    // kernel drops SYNs, so the next connect gets no answer.
    listen_options no_queue;
    no_queue.backlog = 0;
    listener full = open_loopback_listener(no_queue);
    result<connection> queued = co_await connect(full.local(), 2s);
    EXPECT_TRUE(queued.ok()) << queued.error_message();
    const auto start = runtime::clock::now();
    result<connection> late = co_await connect(full.local(), 200ms);
    const auto waited = runtime::clock::now() - start;
    EXPECT_EQ(late.error(), -ETIMEDOUT) << late.error_message();
    EXPECT_GE(waited, 200ms);
    EXPECT_LT(waited, 2s);
    if (queued) co_await queued.value().close();
    co_await full.close();
    co_return 0;
  });
}

TEST(Connect, APortWithoutListenerIsRefused) {
  // Reserve a port (bound, not listening) so nothing else can listen on it during the test.
  int reserved = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(reserved, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(reserved, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(reserved, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const uint16_t port = ntohs(addr.sin_port);
  run_on_runtime([port]() -> runtime::task<int> {
    result<connection> refused = co_await connect(endpoint::loopback_v4(port), 2s);
    EXPECT_EQ(refused.error(), -ECONNREFUSED) << refused.error_message();
    co_return 0;
  });
  ::close(reserved);
}

}  // namespace
}  // namespace ringkv::net
