// server/process/descriptor_limit.cc — RLIMIT_NOFILE soft -> hard at start (see the header).
#include "server/process/descriptor_limit.h"

#include <sys/resource.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "runtime/log.h"

namespace ringkv::server {

size_t raise_descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return SIZE_MAX;
  const rlim_t before = limit.rlim_cur;
  if (limit.rlim_cur != limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
      log::warn("cannot raise the descriptor limit", {{"soft", uint64_t(before)}, {"error", std::strerror(errno)}});
      limit.rlim_cur = before;
    } else {
      log::info("raised the descriptor limit", {{"from", uint64_t(before)}, {"to", uint64_t(limit.rlim_cur)}});
    }
  }
  return limit.rlim_cur == RLIM_INFINITY ? SIZE_MAX : static_cast<size_t>(limit.rlim_cur);
}

}  // namespace ringkv::server
