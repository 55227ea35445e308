// logagent/metrics_server.h - a minimal HTTP/1.1 endpoint for --metrics-addr: any GET is answered with
// the agent's Prometheus text (GET /status with the status JSON) and the connection closed.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "net/tcp/listener.h"
#include "runtime/task.h"

namespace ringkv::logagent {

class metrics_server {
 public:
  static constexpr size_t request_bytes_limit = 8192;
  static constexpr size_t connections_limit = 16;

  // Binds (synchronously); false and `error` when the address is bad or taken.
  bool open(const std::string& address, std::string& error);
  runtime::task<void> serve(std::function<std::string()> metrics, std::function<std::string()> status);
  runtime::task<void> close();
  bool is_open() const { return listener_.has_value(); }

 private:
  std::optional<net::listener> listener_;  // (listener's default constructor needs its private state)
};

}  // namespace ringkv::logagent
