// Entry point of the runtime micro benchmarks (bench/runtime/): Google Benchmark's standard main.
#include <benchmark/benchmark.h>

BENCHMARK_MAIN();
