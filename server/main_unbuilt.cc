// server/main_unbuilt.cc — the `ringkv` executable while a layer it needs (runtime, raft, WAL, MVCC,
// net) is not in the tree: validates its configuration and says plainly that nothing can be served.
#include <cstdio>
#include <string>
#include <vector>

#include "server/config.h"
#include "server/log.h"

namespace {
constexpr const char* ringkv_version = "0.1.0";
constexpr const char* etcd_api_version = "3.4";
}  // namespace

int main(int argc, char** argv) {
  using namespace ringkv::server;
  std::vector<std::string> args(argv, argv + argc);
  config_parse_result parsed = parse_config(args, environment_from_process());
  if (parsed.show_help) {
    std::fputs(config_help_text().c_str(), stdout);
    return 0;
  }
  if (parsed.show_version) {
    std::printf("ringkv Version: %s\netcd API Version: %s\n", ringkv_version, etcd_api_version);
    return 0;
  }
  for (const auto& warning : parsed.warnings) log::warn(warning);
  if (!parsed.config) {
    std::fprintf(stderr, "ringkv: error verifying flags, %s. See 'ringkv --help'.\n", parsed.error.c_str());
    return 2;
  }
  const server_config& config = *parsed.config;
  log::set_level(config.level);
  log::error("cannot serve: a layer ringkv needs (runtime, raft, WAL, MVCC or net) is not built yet", {{"name", config.name},
                                                                   {"data-dir", config.data_dir}});
  return 1;
}
