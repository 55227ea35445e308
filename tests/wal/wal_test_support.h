// Shared by the WAL tests: a temp directory removed afterwards, running a coroutine on the runtime, and
// deterministic payloads so recovered entries can be checked without keeping copies.
#pragma once

#include <filesystem>
#include <string>

#include <stdlib.h>

#include "runtime/reactor.h"
#include "runtime/task.h"
#include "storage/wal/wal.h"

namespace ringkv::storage::wal::testing {

class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ringkv-wal-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~temp_dir() { std::filesystem::remove_all(path_); }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Runs `body` (a callable returning runtime::task<void>) on a fresh single-shard runtime; exceptions
// thrown by the body propagate out of run_on_runtime.
template <typename Body>
void run_on_runtime(Body body) {
  runtime::reactor_config config;
  config.handle_signals = false;
  runtime::run(config, [&]() -> runtime::task<int> {
    co_await body();
    co_return 0;
  });
}

inline std::string payload_for(uint64_t index, size_t bytes) {
  std::string p(bytes, '\0');
  uint64_t x = index * 0x9e3779b97f4a7c15ULL + 1;
  for (char& c : p) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>('a' + x % 26);
  }
  return p;
}

}  // namespace ringkv::storage::wal::testing

namespace ringkv::storage::wal::testing {

// The crash-consistency helper and test agree on every entry's payload (and its varying size).
inline std::string crash_payload(uint64_t index) { return payload_for(index, 8 + index * 37 % 600); }

// Settings the crash helper writes with (small segments: rollovers and releases happen every round).
inline wal_config crash_config(const std::string& dir) {
  wal_config c;
  c.dir = dir;
  c.segment_bytes = 256 << 10;
  c.write_bytes_limit = 32 << 10;
  c.prealloc = preallocation::zero_filled;  // the production default
  return c;
}

}  // namespace ringkv::storage::wal::testing
