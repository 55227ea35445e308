// Plain epoll echo server (benchmark baseline): see epoll_echo_server.h.
#include "bench/runtime/epoll_echo_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "bench/runtime/thread_cpu_clock.h"

namespace ringkv::bench {
namespace {

constexpr size_t read_chunk_bytes = 16 * 1024;
constexpr int events_per_wait_max = 256;

struct server_connection {
  std::vector<char> pending_output;  // bytes the socket did not take yet
};

}  // namespace

epoll_echo_server::epoll_echo_server() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  assert(listen_fd_ >= 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  assert(rc == 0);
  rc = ::listen(listen_fd_, 1024);
  assert(rc == 0);
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
  assert(stop_fd_ >= 0);
  (void)rc;
  thread_ = std::thread([this] { serve(); });
}

epoll_echo_server::~epoll_echo_server() { stop(); }

double epoll_echo_server::stop() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    ssize_t n = ::write(stop_fd_, &one, sizeof one);
    assert(n == sizeof one);
    (void)n;
    thread_.join();
    ::close(stop_fd_);
    ::close(listen_fd_);
  }
  return cpu_seconds_;
}

void epoll_echo_server::serve() {
  ::pthread_setname_np(::pthread_self(), "epoll-echo");  // tells the threads apart in profiles
  int epfd = ::epoll_create1(EPOLL_CLOEXEC);
  assert(epfd >= 0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listen_fd_;
  ::epoll_ctl(epfd, EPOLL_CTL_ADD, listen_fd_, &ev);
  ev.data.fd = stop_fd_;
  ::epoll_ctl(epfd, EPOLL_CTL_ADD, stop_fd_, &ev);

  std::unordered_map<int, server_connection> conns;
  std::vector<char> buf(read_chunk_bytes);
  epoll_event events[events_per_wait_max];
  auto drop = [&](int fd) {
    ::close(fd);  // also removes it from the epoll set
    conns.erase(fd);
  };
  // Writes `data` (after any older pending output); keeps the rest and asks for EPOLLOUT if needed.
  auto write_out = [&](int fd, server_connection& c, const char* data, size_t len) {
    if (c.pending_output.empty()) {
      ssize_t n = ::send(fd, data, len, MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN) return false;
      size_t sent = n < 0 ? 0 : static_cast<size_t>(n);
      data += sent;
      len -= sent;
      if (len == 0) return true;
      epoll_event out{};
      out.events = EPOLLIN | EPOLLOUT;
      out.data.fd = fd;
      ::epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &out);
    }
    c.pending_output.insert(c.pending_output.end(), data, data + len);
    return true;
  };
  for (bool running = true; running;) {
    int n = ::epoll_wait(epfd, events, events_per_wait_max, -1);
    for (int e = 0; e < n; ++e) {
      int fd = events[e].data.fd;
      if (fd == stop_fd_) {
        running = false;
      } else if (fd == listen_fd_) {
        for (int cfd; (cfd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
          int one = 1;
          ::setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          epoll_event in{};
          in.events = EPOLLIN;
          in.data.fd = cfd;
          ::epoll_ctl(epfd, EPOLL_CTL_ADD, cfd, &in);
          conns.emplace(cfd, server_connection{});
        }
      } else {
        server_connection& c = conns[fd];
        if (events[e].events & EPOLLOUT) {
          ssize_t sent = ::send(fd, c.pending_output.data(), c.pending_output.size(), MSG_NOSIGNAL);
          if (sent < 0 && errno != EAGAIN) { drop(fd); continue; }
          if (sent > 0) c.pending_output.erase(c.pending_output.begin(), c.pending_output.begin() + sent);
          if (c.pending_output.empty()) {
            epoll_event in{};
            in.events = EPOLLIN;
            in.data.fd = fd;
            ::epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &in);
          }
        }
        if (events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
          ssize_t got = ::recv(fd, buf.data(), buf.size(), 0);
          if (got == 0 || (got < 0 && errno != EAGAIN)) { drop(fd); continue; }
          if (got > 0 && !write_out(fd, c, buf.data(), static_cast<size_t>(got))) drop(fd);
        }
      }
    }
  }
  for (auto& [fd, c] : conns) ::close(fd);
  ::close(epfd);
  cpu_seconds_ = thread_cpu_seconds();
}

}  // namespace ringkv::bench
