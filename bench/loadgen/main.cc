// ringkv-bench: etcd v3 load generator (see options.h for the command line, bench_run.h for the run).
#include <iostream>
#include <variant>

#include "bench/loadgen/bench_run.h"
#include "bench/loadgen/cpu_clock.h"
#include "bench/loadgen/options.h"
#include "runtime/reactor.h"

int main(int argc, char** argv) {
  using namespace ringkv;
  auto parsed = bench::parse_options(argc, argv);
  if (auto* error = std::get_if<bench::parse_error>(&parsed)) {
    const bool help = error->message.starts_with("usage:");
    (help ? std::cout : std::cerr) << (help ? "" : "ringkv-bench: ") << error->message << (help ? "" : "\n");
    return help ? 0 : 2;
  }
  const bench::bench_options options = std::get<bench::bench_options>(parsed);
  if (!options.server_pids.empty() && !bench::processes_cpu_time(options.server_pids)) {
    std::cerr << "ringkv-bench: --server-pids: cannot read /proc/<pid>/stat of every process given\n";
    return 2;
  }
  runtime::reactor_config config;
  config.shards = options.shards;  // default 1: the load generator must stay cheap (see Client CPU line)
  try {
    return runtime::run(config, [&options]() { return bench::run_bench(options, std::cout); });
  } catch (const std::exception& e) {
    std::cerr << "ringkv-bench: " << e.what() << "\n";
    return 1;
  }
}
