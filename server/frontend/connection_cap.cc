// server/frontend/connection_cap.cc — the client connection cap from the descriptor limit (see the header).
#include "server/frontend/connection_cap.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstdint>

namespace ringkv::server {

size_t client_connection_cap(size_t descriptor_limit) {
  const size_t reserve = std::min(member_reserved_descriptors, descriptor_limit / 2);
  return std::max(min_client_connections, descriptor_limit - reserve);
}

size_t client_connection_cap() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return SIZE_MAX;
  return client_connection_cap(static_cast<size_t>(limit.rlim_cur));
}

}  // namespace ringkv::server
