// Runtime echo server for the echo benchmark: see runtime_echo_server.h.
#include "bench/runtime/runtime_echo_server.h"

#include <pthread.h>

#include <cassert>
#include <future>

#include "bench/runtime/bench_runtime_config.h"
#include "bench/runtime/thread_cpu_clock.h"
#include "net/tcp/listener.h"
#include "runtime/reactor.h"
#include "runtime/when_all.h"

namespace ringkv::bench {
namespace {

runtime::task<void> echo(net::connection conn) {
  for (;;) {
    if (co_await conn.fill() <= 0) break;
    std::span<const std::byte> data = conn.readable();
    if (co_await conn.write(data) < 0) break;
    conn.consume(data.size());
  }
  co_await conn.close();
}

}  // namespace

runtime_echo_server::runtime_echo_server(unsigned shards) {
  std::promise<uint16_t> bound;
  std::future<uint16_t> port = bound.get_future();
  thread_ = std::thread([this, shards, &bound] {
    ::pthread_setname_np(::pthread_self(), "runtime-echo");  // tells the threads apart in profiles
    runtime::run(bench_runtime_config(shards), [&bound]() -> runtime::task<int> {
      net::result<net::listener> opened = net::listener::open(net::endpoint::loopback_v4(0));
      if (!opened) {
        bound.set_value(0);
        co_return 1;
      }
      net::listener& l = opened.value();
      bound.set_value(l.local().port());
      runtime::task_group serving;
      serving.spawn([](net::listener& l) -> runtime::task<void> { (void)co_await l.serve(echo); }(l));
      co_await runtime::wait_for_stop();
      co_await l.close();
      co_await serving.wait();
      co_return 0;
    });
    cpu_seconds_ = thread_cpu_seconds();
  });
  port_ = port.get();
  assert(port_ != 0 && "runtime echo server could not listen on 127.0.0.1");
}

runtime_echo_server::~runtime_echo_server() { stop(); }

double runtime_echo_server::stop() {
  if (thread_.joinable()) {
    runtime::request_stop();
    thread_.join();
  }
  return cpu_seconds_;
}

}  // namespace ringkv::bench
