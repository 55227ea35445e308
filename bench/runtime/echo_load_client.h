// Closed-loop TCP echo load client used by the echo benchmarks. It is the same client for every server
// under test (the io_uring runtime's echo server and the plain epoll baseline), so the two request rates
// are comparable. One thread, one epoll set, `connections` non-blocking sockets; each connection sends one
// `message_bytes` message, waits until the whole echo is back (and checks every byte), then sends the next.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace ringkv::bench {

struct echo_load_config {
  uint16_t port = 0;                   // server on 127.0.0.1:port
  unsigned connections = 64;
  size_t message_bytes = 64;
  std::chrono::milliseconds duration{1000};
  std::chrono::milliseconds warmup{100};  // requests during warm-up are not counted
};

struct echo_load_result {
  uint64_t requests = 0;        // completed request/response pairs after warm-up
  uint64_t requests_total = 0;  // including the warm-up
  double seconds = 0;           // measured interval (after warm-up)
  uint64_t corrupt_bytes = 0;   // echoed bytes that differed from what was sent (must stay 0)
  std::string error;            // empty on success
  double requests_per_s() const { return seconds > 0 ? static_cast<double>(requests) / seconds : 0; }
};

// Runs the load on the calling thread until `duration` has passed after the warm-up.
echo_load_result run_echo_load(const echo_load_config& config);

}  // namespace ringkv::bench
