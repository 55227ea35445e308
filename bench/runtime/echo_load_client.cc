// Closed-loop epoll echo client: see echo_load_client.h. Sockets stay blocking for send (a 64-byte
// message always fits the socket buffer) and are read with MSG_DONTWAIT when epoll reports them readable.
#include "bench/runtime/echo_load_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstring>
#include <vector>

namespace ringkv::bench {
namespace {

using clock_type = std::chrono::steady_clock;

struct client_connection {
  int fd = -1;
  std::vector<unsigned char> message;   // what this connection sends
  std::vector<unsigned char> received;  // echo being collected
  size_t sent_bytes = 0;
  size_t received_bytes = 0;
  uint8_t round = 0;  // varies the message content between rounds
};

void fill_message(client_connection& c, unsigned index) {
  for (size_t i = 0; i < c.message.size(); ++i) {
    c.message[i] = static_cast<unsigned char>(i * 31 + index * 7 + c.round);
  }
}

int connect_loopback(uint16_t port, std::string& error) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    error = std::string("connect: ") + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// Sends the whole message (blocking socket: a short message never really blocks); false on error.
bool send_pending(client_connection& c) {
  while (c.sent_bytes < c.message.size()) {
    ssize_t n = ::send(c.fd, c.message.data() + c.sent_bytes, c.message.size() - c.sent_bytes, MSG_NOSIGNAL);
    if (n < 0) return false;
    c.sent_bytes += static_cast<size_t>(n);
  }
  return true;
}

// Reads what is available; returns false on error or EOF. Sets `complete` when the whole echo is in.
bool receive_available(client_connection& c, bool& complete) {
  complete = false;
  while (c.received_bytes < c.message.size()) {
    ssize_t n = ::recv(c.fd, c.received.data() + c.received_bytes, c.message.size() - c.received_bytes,
                       MSG_DONTWAIT);
    if (n == 0) return false;
    if (n < 0) return errno == EAGAIN;
    c.received_bytes += static_cast<size_t>(n);
  }
  complete = true;
  return true;
}

}  // namespace

echo_load_result run_echo_load(const echo_load_config& config) {
  assert(config.connections > 0 && config.message_bytes > 0);
  echo_load_result result;
  std::vector<client_connection> conns(config.connections);
  int epfd = ::epoll_create1(EPOLL_CLOEXEC);
  assert(epfd >= 0);
  for (unsigned i = 0; i < conns.size() && result.error.empty(); ++i) {
    client_connection& c = conns[i];
    c.fd = connect_loopback(config.port, result.error);
    if (c.fd < 0) break;
    c.message.resize(config.message_bytes);
    c.received.resize(config.message_bytes);
    fill_message(c, i);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = i;
    ::epoll_ctl(epfd, EPOLL_CTL_ADD, c.fd, &ev);
    if (!send_pending(c)) result.error = "send failed";
  }

  const auto start = clock_type::now();
  const auto measure_from = start + config.warmup;
  const auto stop_at = measure_from + config.duration;
  uint64_t requests_at_measure_start = 0;
  bool measuring = false;
  uint64_t requests = 0;
  std::vector<epoll_event> events(conns.size());
  while (result.error.empty()) {
    int n = ::epoll_wait(epfd, events.data(), static_cast<int>(events.size()), 100);
    auto now = clock_type::now();
    if (!measuring && now >= measure_from) {
      measuring = true;
      requests_at_measure_start = requests;
    }
    if (now >= stop_at) break;
    for (int e = 0; e < n; ++e) {
      unsigned i = events[e].data.u32;
      client_connection& c = conns[i];
      bool complete = false;
      if (!receive_available(c, complete)) {
        result.error = "connection closed or failed while receiving the echo";
        break;
      }
      if (!complete) continue;
      if (std::memcmp(c.message.data(), c.received.data(), c.message.size()) != 0) {
        for (size_t b = 0; b < c.message.size(); ++b) result.corrupt_bytes += c.message[b] != c.received[b];
      }
      ++requests;
      ++c.round;
      fill_message(c, i);
      c.sent_bytes = c.received_bytes = 0;
      if (!send_pending(c)) result.error = "send failed";
    }
  }
  result.requests = requests - requests_at_measure_start;
  result.requests_total = requests;
  result.seconds = std::chrono::duration<double>(clock_type::now() - measure_from).count();
  for (auto& c : conns) {
    if (c.fd >= 0) ::close(c.fd);
  }
  ::close(epfd);
  return result;
}

}  // namespace ringkv::bench
