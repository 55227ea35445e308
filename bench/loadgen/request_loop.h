// The closed-loop and open-loop request engine shared by the request/response workloads.
//
// Each client is a coroutine running request_loop(): claim the next request index from the shared
// run_plan, (open loop only) sleep until that request's scheduled time, issue it through its
// request_source, record the latency or the error. Closed loop: a client issues its next request when
// the previous one answered, so `clients` bounds the requests in flight. A client whose connection is
// lost stops (after counting that failure); the run goes on with the others. Open loop (--rate R): request i
// is due at start + i/R and its latency is counted from that due time, so a server that falls behind is
// charged for the queueing it causes (no coordinated omission).
#pragma once

#include <cstdint>

#include "bench/loadgen/bench_result.h"
#include "client/grpc_connection.h"
#include "bench/loadgen/run_plan.h"
#include "runtime/task.h"

namespace ringkv::bench {

// One client's request maker: holds its reusable request messages, issues request `index`.
class request_source {
 public:
  explicit request_source(client::grpc_connection& client) : client_(client) {}
  virtual ~request_source() = default;
  // Once per client before the clock starts (e.g. grant a lease, open a stream).
  virtual runtime::task<client::status> prepare() { co_return client::status{}; }
  virtual runtime::task<client::status> issue(uint64_t index) = 0;
  // Once per client after its last request (e.g. close a stream).
  virtual runtime::task<void> finish() { co_return; }
  // Workload counters (e.g. writes done), added to the result after the run.
  virtual void add_counters(bench_result&) const {}
  // False once the connection is lost: the client stops (no reconnects), its last failure counted.
  bool connected() const { return client_.connected(); }
  // --user "name:password": Authenticate; the sources that support it send token_ with each request.
  runtime::task<client::status> authenticate(const std::string& user_colon_password);

 protected:
  client::grpc_connection& client_;
  std::string token_;  // etcd's auth token, empty without --user
};

runtime::task<void> request_loop(run_plan& plan, request_source& source, bench_result& stats);

}  // namespace ringkv::bench
