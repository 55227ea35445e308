// The baseline for the runtime's TCP echo benchmark: a plain single-threaded epoll echo server, written
// the way one usually writes it (level-triggered epoll, non-blocking sockets, read then write back, a
// pending-output buffer with EPOLLOUT only when the socket is full). It runs on its own thread.
#pragma once

#include <cstdint>
#include <thread>

namespace ringkv::bench {

class epoll_echo_server {
 public:
  epoll_echo_server();  // binds 127.0.0.1 on an ephemeral port and starts serving; asserts on failure
  ~epoll_echo_server();  // stop()s
  // Stops the thread and closes every socket; returns the CPU seconds the server thread used.
  double stop();
  epoll_echo_server(const epoll_echo_server&) = delete;
  epoll_echo_server& operator=(const epoll_echo_server&) = delete;

  uint16_t port() const { return port_; }

 private:
  void serve();

  int listen_fd_ = -1;
  int stop_fd_ = -1;  // eventfd: written by the destructor to end serve()
  uint16_t port_ = 0;
  std::thread thread_;
  double cpu_seconds_ = 0;  // written by the server thread as it ends
};

}  // namespace ringkv::bench
