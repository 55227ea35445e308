// request_loop and run_plan (see request_loop.h).
#include "bench/loadgen/request_loop.h"

#include "etcd/rpc.pb.h"
#include "runtime/timer.h"

namespace ringkv::bench {

runtime::task<client::status> request_source::authenticate(const std::string& user_colon_password) {
  const size_t colon = user_colon_password.find(':');
  etcdserverpb::AuthenticateRequest request;
  request.set_name(user_colon_password.substr(0, colon));
  request.set_password(user_colon_password.substr(colon + 1));
  etcdserverpb::AuthenticateResponse response;
  client::status status = co_await client_.call(client::rpc_method::authenticate, request, &response);
  if (status.ok()) token_ = response.token();
  co_return status;
}

runtime::task<void> request_loop(run_plan& plan, request_source& source, bench_result& stats) {
  for (;;) {
    auto now = bench_clock::now();
    const auto index = plan.claim(now);
    if (!index) break;
    auto started = now;
    if (plan.open_loop()) {
      started = plan.due_time(*index);
      if (started > now) co_await runtime::sleep_for(started - now);
    }
    const client::status status = co_await source.issue(*index);
    const auto finished = bench_clock::now();
    if (status.ok()) {
      stats.latencies.record(finished - started);
      plan.progress.done.fetch_add(1, std::memory_order_relaxed);
    } else {
      stats.record_error(status.code, status.message);
      plan.progress.failed.fetch_add(1, std::memory_order_relaxed);
      if (!source.connected()) break;
    }
  }
}

}  // namespace ringkv::bench
