// logagent/metrics_server.cc - read one request head, answer, close.
#include "logagent/metrics_server.h"

#include <span>
#include <string_view>

namespace ringkv::logagent {

bool metrics_server::open(const std::string& address, std::string& error) {
  auto where = net::endpoint::parse(address);
  if (!where) {
    error = "--metrics-addr: not ip:port: " + address;
    return false;
  }
  net::listen_options options;
  options.max_connections = connections_limit;
  auto opened = net::listener::open(*where, options);
  if (!opened) {
    error = "--metrics-addr " + address + ": " + opened.error_message();
    return false;
  }
  listener_.emplace(std::move(opened.value()));
  return true;
}

runtime::task<void> metrics_server::serve(std::function<std::string()> metrics, std::function<std::string()> status) {
  co_await listener_->serve([&](net::connection conn) -> runtime::task<void> {
    std::string_view head;
    while (true) {
      const int got = co_await conn.fill(conn.readable().size() + 1);
      if (got <= 0) break;
      head = std::string_view(reinterpret_cast<const char*>(conn.readable().data()), conn.readable().size());
      if (head.find("\r\n\r\n") != std::string_view::npos || head.size() >= request_bytes_limit) break;
    }
    if (!head.empty()) {
      const bool wants_status = head.starts_with("GET /status");
      const std::string body = wants_status ? status() : metrics();
      const std::string response = std::string("HTTP/1.1 200 OK\r\nContent-Type: ") +
                                   (wants_status ? "application/json" : "text/plain; version=0.0.4") +
                                   "\r\nContent-Length: " + std::to_string(body.size()) +
                                   "\r\nConnection: close\r\n\r\n" + body;
      co_await conn.write(std::as_bytes(std::span(response)));
      co_await conn.flush();
    }
    co_await conn.close();
  });
}

runtime::task<void> metrics_server::close() {
  if (listener_) co_await listener_->close();
}

}  // namespace ringkv::logagent
