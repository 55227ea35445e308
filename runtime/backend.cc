// runtime/backend.cc - naming and choosing an I/O backend (RINGKV_IO_BACKEND, reactor_config::backend)
// and building one for a shard.
#include "runtime/backend.h"

#include <cstdlib>
#include <string>

#include "runtime/epoll_backend.h"
#include "runtime/uring_backend.h"

namespace ringkv::runtime {

const char* to_string(io_backend backend) noexcept {
  switch (backend) {
    case io_backend::automatic: return "auto";
    case io_backend::uring: return "uring";
    case io_backend::epoll: return "epoll";
  }
  return "unknown";
}

std::optional<io_backend> parse_io_backend(std::string_view text) noexcept {
  if (text == "auto") return io_backend::automatic;
  if (text == "uring" || text == "io_uring") return io_backend::uring;
  if (text == "epoll") return io_backend::epoll;
  return std::nullopt;
}

namespace detail {

std::unique_ptr<backend> make_backend(io_backend kind, unsigned ring_entries) {
  if (kind == io_backend::epoll) return std::make_unique<epoll_backend>(ring_entries);
  return std::make_unique<uring_backend>(ring_entries);
}

io_backend backend_from_environment() {
  const char* value = std::getenv(io_backend_env);
  if (value == nullptr || *value == '\0') return io_backend::automatic;
  if (std::optional<io_backend> parsed = parse_io_backend(value)) return *parsed;
  throw std::invalid_argument(std::string(io_backend_env) + " must be auto, uring or epoll, got '" + value + "'");
}

}  // namespace detail
}  // namespace ringkv::runtime
