// tests/runtime/runtime_test_support.h - helpers shared by the runtime tests: running a coroutine main
// on a fresh runtime, temporary directories removed at the end of a test, a TCP listener on loopback.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <string>
#include <utility>

#include "runtime/reactor.h"
#include "runtime/task.h"

namespace ringkv::runtime::testing {

inline int run_on_shards(unsigned shards, std::function<task<int>()> main) {
  reactor_config config;
  config.shards = shards;
  config.handle_signals = false;
  return run(config, std::move(main));
}

inline int run_one_shard(std::function<task<int>()> main) { return run_on_shards(1, std::move(main)); }

// A fresh directory under `parent`, removed with its contents at the end of the test.
class temp_dir {
 public:
  explicit temp_dir(const std::string& parent = "/tmp") {
    std::string pattern = parent + "/ringkv_runtime_test_XXXXXX";
    if (const char* made = ::mkdtemp(pattern.data())) path_ = made;
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A TCP listener on 127.0.0.1, any port (`addr` says which), closed at the end of the test.
struct loopback_listener {
  int fd = -1;
  sockaddr_in addr{};
  explicit loopback_listener(int backlog = 256) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd, backlog), 0);
    socklen_t len = sizeof addr;
    EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  }
  loopback_listener(const loopback_listener&) = delete;
  loopback_listener& operator=(const loopback_listener&) = delete;
  ~loopback_listener() { ::close(fd); }
};

}  // namespace ringkv::runtime::testing
