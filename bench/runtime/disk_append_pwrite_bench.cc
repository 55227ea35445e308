// Baseline for the runtime's O_DIRECT append benchmark: the same appends done with plain
// pwrite + fdatasync on the calling thread, so the io_uring path's overhead is visible next to it.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cassert>

#include "bench/runtime/disk_append_file.h"

namespace ringkv::bench {
namespace {

void BM_disk_append_pwrite_fdatasync(benchmark::State& state) {
  disk_append_file file(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    ssize_t n = ::pwrite(file.fd(), file.block(), file.block_bytes(), static_cast<off_t>(file.next_offset()));
    assert(n == static_cast<ssize_t>(file.block_bytes()));
    int rc = ::fdatasync(file.fd());
    assert(rc == 0);
    (void)n;
    (void)rc;
  }
  report_append_rate(state);
}
BENCHMARK(BM_disk_append_pwrite_fdatasync)->Arg(4096)->Arg(65536)->UseRealTime()->MinTime(1.0);

}  // namespace
}  // namespace ringkv::bench
