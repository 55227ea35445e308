// net::connection: vectored writes (writev pieces in order, flush), backpressure (a peer that does not read makes writers wait while the connection's
// memory stays within its limit, and every byte still arrives in order once it reads), writes larger
// than the send buffer, concurrent writers never interleaving inside one write, close() while a read
// is pending, and reads after the peer closed.
#include "net/tcp/connection.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <cstring>

#include "runtime/timer.h"
#include "runtime/when_all.h"
#include "tests/net/tcp_test_support.h"

namespace ringkv::net {
namespace {

using namespace testing;

constexpr size_t small_send_buffer_bytes = 64 * 1024;
constexpr size_t backpressure_total_bytes = 8 << 20;
constexpr size_t backpressure_write_bytes = 16 * 1024;

connection_limits send_limit(size_t bytes) {
  connection_limits limits;
  limits.send_buffer_bytes_limit = bytes;
  return limits;
}

// Fixes the kernel's socket buffers between the pair (no autotuning), so a non-reading peer blocks
// the sender after a few hundred KiB. Not smaller: windows below loopback's 64 KiB MSS make TCP crawl
// on its persist timer.
void shrink_kernel_buffers(const connected_pair& p) {
  int bytes = 64 * 1024;
  ::setsockopt(p.client.fd(), SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
  ::setsockopt(p.server.fd(), SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
}

// Reads `total` bytes from `conn` and counts those that differ from pattern(seed).
runtime::task<size_t> read_and_count_wrong(connection& conn, size_t total, unsigned seed) {
  std::vector<std::byte> chunk(64 * 1024);
  size_t at = 0, wrong = 0;
  while (at < total) {
    const int got = co_await conn.read_some(std::span(chunk).first(std::min(chunk.size(), total - at)));
    if (got <= 0) co_return total - at + wrong;
    for (int i = 0; i < got; ++i) wrong += chunk[static_cast<size_t>(i)] != pattern_byte(at + static_cast<size_t>(i), seed);
    at += static_cast<size_t>(got);
  }
  co_return wrong;
}

TEST(Connection, APeerThatDoesNotReadMakesTheWriterWaitWithBoundedMemory) {
  run_on_runtime([]() -> runtime::task<int> {
    listener l = open_loopback_listener();
    connected_pair p = co_await connect_pair(l, send_limit(small_send_buffer_bytes));
    shrink_kernel_buffers(p);
    size_t written = 0;
    size_t buffered_max = 0;
    bool writer_done = false;
    runtime::task_group group;
    group.spawn([](connection& c, size_t& written, size_t& buffered_max, bool& done) -> runtime::task<void> {
      std::vector<std::byte> all = pattern(backpressure_total_bytes, 7);
      for (size_t at = 0; at < all.size(); at += backpressure_write_bytes) {
        const int sent = co_await c.write(std::span(all).subspan(at, backpressure_write_bytes));
        if (sent < 0) break;
        written += static_cast<size_t>(sent);
        buffered_max = std::max(buffered_max, c.send_buffered_bytes());
      }
      done = true;
    }(p.client, written, buffered_max, writer_done));
    // Wait until the writer has parked: it wrote something and then made no progress for 200 ms
    // (bounded; a loaded machine may start the writer late, so no fixed sleep decides this).
    const auto park_deadline = std::chrono::steady_clock::now() + 5s;
    for (size_t last = SIZE_MAX; (written != last || written == 0) && std::chrono::steady_clock::now() < park_deadline;) {
      last = written;
      co_await runtime::sleep_for(200ms);
    }
    // The peer has read nothing: the writer must be parked long before it wrote everything.
    EXPECT_FALSE(writer_done);
    EXPECT_LT(written, backpressure_total_bytes / 2);
    EXPECT_LE(p.client.send_buffered_bytes(), small_send_buffer_bytes);
    const size_t written_while_blocked = written;
    co_await runtime::sleep_for(100ms);
    EXPECT_EQ(written, written_while_blocked);  // no progress without a reader
    // Now the peer reads: everything arrives, in order, and the writer finishes.
    const size_t wrong = co_await read_and_count_wrong(p.server, backpressure_total_bytes, 7);
    co_await group.wait();
    EXPECT_EQ(wrong, 0u);
    EXPECT_TRUE(writer_done);
    EXPECT_EQ(written, backpressure_total_bytes);
    EXPECT_LE(buffered_max, small_send_buffer_bytes);
    co_await close_all(p, l);
    co_return 0;
  });
}

TEST(Connection, AWriteLargerThanTheSendBufferArrivesWhole) {
  run_on_runtime([]() -> runtime::task<int> {
    listener l = open_loopback_listener();
    connected_pair p = co_await connect_pair(l, send_limit(4096));
    constexpr size_t big = 3 << 20;
    std::vector<std::byte> data = pattern(big, 3);
    auto [sent, wrong] = co_await runtime::when_all(p.client.write(data), read_and_count_wrong(p.server, big, 3));
    EXPECT_EQ(sent, static_cast<int>(big));
    EXPECT_EQ(wrong, 0u);
    co_await close_all(p, l);
    co_return 0;
  });
}

TEST(Connection, WritevSendsItsPiecesInOrderAndFlushWaitsForThem) {
  run_on_runtime([]() -> runtime::task<int> {
    listener l = open_loopback_listener();
    connected_pair p = co_await connect_pair(l, send_limit(8192));
    std::vector<std::byte> all = pattern(30000, 5);
    const std::span<const std::byte> whole(all);
    const std::span<const std::byte> pieces[] = {whole.first(100), whole.subspan(100, 0), whole.subspan(100, 20000),
                                                 whole.subspan(20100)};
    auto [sent, wrong] = co_await runtime::when_all(p.client.writev(pieces), read_and_count_wrong(p.server, all.size(), 5));
    EXPECT_EQ(sent, static_cast<int>(all.size()));
    EXPECT_EQ(wrong, 0u);
    EXPECT_EQ(co_await p.client.flush(), 0);
    EXPECT_EQ(p.client.send_buffered_bytes(), 0u);
    co_await close_all(p, l);
    co_return 0;
  });
}

TEST(Connection, ConcurrentWritersNeverInterleaveWithinOneWrite) {
  run_on_runtime([]() -> runtime::task<int> {
    listener l = open_loopback_listener();
    connected_pair p = co_await connect_pair(l, send_limit(8192));
    shrink_kernel_buffers(p);
    constexpr unsigned writers = 8, records_per_writer = 200;
    constexpr size_t record_bytes = 1000;  // each record: `record_bytes` copies of its writer's id
    auto writer = [](connection& c, unsigned id) -> runtime::task<void> {
      std::vector<std::byte> record(record_bytes, static_cast<std::byte>(id));
      for (unsigned r = 0; r < records_per_writer; ++r) EXPECT_EQ(co_await c.write(record), static_cast<int>(record_bytes));
    };
    runtime::task_group group;
    for (unsigned id = 0; id < writers; ++id) group.spawn(writer(p.client, id));
    std::vector<std::byte> record(record_bytes);
    std::vector<unsigned> per_writer(writers, 0);
    for (unsigned r = 0; r < writers * records_per_writer; ++r) {
      EXPECT_EQ(co_await p.server.read_exact(record), static_cast<int>(record_bytes));
      const auto id = static_cast<unsigned>(record[0]);
      if (id >= writers) {
        ADD_FAILURE() << "record from unknown writer " << id;
        break;
      }
      EXPECT_EQ(std::count(record.begin(), record.end(), record[0]), static_cast<long>(record_bytes));
      ++per_writer[id];
    }
    co_await group.wait();
    for (unsigned n : per_writer) EXPECT_EQ(n, records_per_writer);
    co_await close_all(p, l);
    co_return 0;
  });
}

TEST(Connection, CloseWhileAReadIsPendingCancelsTheRead) {
  run_on_runtime([]() -> runtime::task<int> {
    listener l = open_loopback_listener();
    connected_pair p = co_await connect_pair(l);
    int read_result = 1;
    bool read_returned = false;
    runtime::task_group group;
    group.spawn([](connection& c, int& result, bool& returned) -> runtime::task<void> {
      result = co_await c.fill();
      returned = true;
    }(p.server, read_result, read_returned));
    co_await runtime::sleep_for(20ms);
    EXPECT_FALSE(read_returned);  // nothing was sent: the read is pending
    co_await p.server.close();
    EXPECT_TRUE(read_returned);   // close() returns only after the pending read resumed
    co_await group.wait();
    EXPECT_EQ(read_result, -ECANCELED);
    EXPECT_FALSE(p.server.is_open());
    EXPECT_EQ(p.server.fd(), -1);
    EXPECT_EQ(co_await p.server.fill(), -ECANCELED);
    std::byte one{1};
    EXPECT_EQ(co_await p.server.write({&one, 1}), -ECANCELED);
    // The peer sees the connection end.
    std::byte buf[8];
    EXPECT_EQ(co_await p.client.read_some(buf), 0);
    co_await p.client.close();
    co_await l.close();
    co_return 0;
  });
}

TEST(Connection, ReadsReportEndOfStreamAndPartialMessages) {
  run_on_runtime([]() -> runtime::task<int> {
    listener l = open_loopback_listener();
    connected_pair p = co_await connect_pair(l);
    std::vector<std::byte> half = pattern(10, 1);
    EXPECT_EQ(co_await p.client.write(half), 10);
    co_await p.client.close();
    std::vector<std::byte> want(20);
    EXPECT_EQ(co_await p.server.read_exact(want), peer_closed_midway);
    EXPECT_EQ(co_await p.server.read_exact(want), 0);  // clean end of stream
    EXPECT_EQ(co_await p.server.fill(connection_limits{}.read_buffer_bytes + 1), -EMSGSIZE);
    co_await p.server.close();
    co_await l.close();
    co_return 0;
  });
}

TEST(Connection, WritingToAPeerThatClosedFails) {
  run_on_runtime([]() -> runtime::task<int> {
    listener l = open_loopback_listener();
    connected_pair p = co_await connect_pair(l);
    co_await p.server.close();
    std::vector<std::byte> data = pattern(64 * 1024, 2);
    int result = 0;
    for (int i = 0; i < 100 && result >= 0; ++i) result = co_await p.client.write(data);
    EXPECT_TRUE(result == -EPIPE || result == -ECONNRESET) << result;
    EXPECT_EQ(co_await p.client.write(data), result);  // the failure is sticky
    co_await p.client.close();
    co_await l.close();
    co_return 0;
  });
}

}  // namespace
}  // namespace ringkv::net
