// The runtime's side of the TCP echo benchmark: a net::listener on 127.0.0.1 served by the runtime
// (one shard by default) on its own thread, echoing with net::connection (fill, write, consume).
#pragma once

#include <cstdint>
#include <thread>

namespace ringkv::bench {

class runtime_echo_server {
 public:
  explicit runtime_echo_server(unsigned shards = 1);  // returns once the listener is open
  ~runtime_echo_server();  // stop()s
  // Requests stop and joins the runtime thread; returns the CPU seconds that thread used.
  double stop();
  runtime_echo_server(const runtime_echo_server&) = delete;
  runtime_echo_server& operator=(const runtime_echo_server&) = delete;

  uint16_t port() const { return port_; }

 private:
  uint16_t port_ = 0;
  std::thread thread_;
  double cpu_seconds_ = 0;  // written by the runtime thread as it ends
};

}  // namespace ringkv::bench
