// tests/runtime/log_capture.h — runs a piece of code with runtime/log's output going to a pipe and
// returns what it logged (the JSON lines), so tests can assert on log lines.
#pragma once

#include <unistd.h>

#include <functional>
#include <stdexcept>
#include <string>

#include "runtime/log.h"

namespace ringkv::test {

inline std::string capture_log(const std::function<void()>& work) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
  log::set_output_fd(fds[1]);
  work();  // must log less than a pipe buffer (64 KiB): nobody reads meanwhile
  log::set_output_fd(2);
  ::close(fds[1]);
  std::string text;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;) text.append(buffer, size_t(n));
  ::close(fds[0]);
  return text;
}

}  // namespace ringkv::test
