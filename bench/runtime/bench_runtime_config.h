// The runtime configuration every runtime benchmark uses: `shards` shards, no signal handling (the
// benchmark process keeps the default SIGINT behaviour).
#pragma once

#include "runtime/reactor.h"

namespace ringkv::bench {

inline runtime::reactor_config bench_runtime_config(unsigned shards) {
  runtime::reactor_config config;
  config.shards = shards;
  config.handle_signals = false;
  return config;
}

}  // namespace ringkv::bench
