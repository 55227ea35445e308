// O_DIRECT append + fdatasync through the runtime (io_uring write_at then fdatasync, awaited one after
// the other, as a WAL without group commit would), for 4 KiB and 64 KiB blocks. The pwrite+fdatasync
// baseline on the same kind of file is in disk_append_pwrite_bench.cc.
#include <benchmark/benchmark.h>

#include "bench/runtime/bench_runtime_config.h"
#include "bench/runtime/disk_append_file.h"
#include "runtime/io.h"
#include "runtime/reactor.h"

namespace ringkv::bench {
namespace {

void BM_disk_append_runtime_fdatasync(benchmark::State& state) {
  disk_append_file file(static_cast<size_t>(state.range(0)));
  runtime::run(bench_runtime_config(1), [&state, &file]() -> runtime::task<int> {
    for (auto _ : state) {
      const int written = co_await runtime::io::write_at(file.fd(), file.block(), file.block_bytes(), file.next_offset());
      const int synced = co_await runtime::io::fdatasync(file.fd());
      if (written != static_cast<int>(file.block_bytes()) || synced != 0) {
        state.SkipWithError("write_at or fdatasync failed");
        break;
      }
    }
    co_return 0;
  });
  report_append_rate(state);
}
BENCHMARK(BM_disk_append_runtime_fdatasync)->Arg(4096)->Arg(65536)->UseRealTime()->MinTime(1.0);

}  // namespace
}  // namespace ringkv::bench
