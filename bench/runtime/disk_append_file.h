// Shared set-up for the O_DIRECT append benchmarks: a fresh temporary file opened with O_DIRECT, an
// aligned block to write, and the running append offset. Both the runtime path and the pwrite baseline
// use it, so they write the same bytes to the same kind of file.
#pragma once

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace ringkv::bench {

class disk_append_file {
 public:
  // Creates a new file under $RINGKV_BENCH_DIR (default /tmp), O_DIRECT; asserts if that fails.
  explicit disk_append_file(size_t block_bytes);
  ~disk_append_file();  // closes and removes the file
  disk_append_file(const disk_append_file&) = delete;
  disk_append_file& operator=(const disk_append_file&) = delete;

  int fd() const { return fd_; }
  const void* block() const { return block_.get(); }
  size_t block_bytes() const { return block_bytes_; }
  // Offset of the next append, then advances it. Wraps back to 0 after `file_bytes_max`
  // so a long run does not fill the disk.
  uint64_t next_offset();

  static constexpr uint64_t file_bytes_max = 256ull << 20;
  static constexpr size_t direct_io_alignment = 4096;

 private:
  struct free_deleter {
    void operator()(void* p) const;
  };
  int fd_ = -1;
  std::string path_;
  size_t block_bytes_;
  std::unique_ptr<void, free_deleter> block_;
  uint64_t offset_ = 0;
};

// Reports the append rate (writes_per_s, bytes/s) of a finished append benchmark.
inline void report_append_rate(benchmark::State& state) {
  state.counters["writes_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                                      benchmark::Counter::kIsRate);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}

}  // namespace ringkv::bench
