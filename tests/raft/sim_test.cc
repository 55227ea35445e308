// tests/raft/sim_test.cc: the raft simulator over many seeds, cluster sizes 3, 5 and 7.
//   RaftSim.Quick        50 seeds (CI, also under sanitizers)
//   RaftSim.Many         1000 seeds by default (CI main pass, tagged slow); RINGKV_RAFT_SIM_SEEDS=N for
//                        a longer run, RINGKV_RAFT_SIM_FIRST_SEED to start elsewhere
//   RaftSim.Replay       one seed: RINGKV_RAFT_SIM_SEED=S RINGKV_RAFT_SIM_NODES=N [RINGKV_RAFT_SIM_TRACE=1]
// A failing seed prints the exact replay command; an assertion failure inside raft prints it too.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <string>
#include <unistd.h>

#include "tests/raft/sim/cluster.h"

namespace ringkv::raft::sim {
namespace {

constexpr uint64_t kChaosTimeUnits = 6000;     // 600 ticks = 60 election timeouts of faults
constexpr uint64_t kLivenessTimeUnits = 3000;  // then 300 ticks to elect, commit and read

char g_replay[256];  // the replay line of the seed running now, for the abort handler

void on_abort(int) {
  ssize_t ignored = write(2, g_replay, strlen(g_replay));
  (void)ignored;
}

uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* value = std::getenv(name);
  return value && *value ? std::strtoull(value, nullptr, 10) : fallback;
}

std::string this_executable() {
  char path[4096];
  ssize_t length = readlink("/proc/self/exe", path, sizeof path - 1);
  return length > 0 ? std::string(path, static_cast<size_t>(length)) : "tests/raft/raft_sim_test";
}

std::string replay_command(uint64_t seed, uint32_t nodes) {
  return "RINGKV_RAFT_SIM_SEED=" + std::to_string(seed) + " RINGKV_RAFT_SIM_NODES=" + std::to_string(nodes) +
         " RINGKV_RAFT_SIM_TRACE=1 " + this_executable() + " --gtest_filter=RaftSim.Replay";
}

void run_one(uint64_t seed, uint32_t nodes, bool trace) {
  std::string replay = "\nraft sim aborted; replay with: " + replay_command(seed, nodes) + "\n";
  snprintf(g_replay, sizeof g_replay, "%s", replay.c_str());
  Options options;
  options.seed = seed;
  options.nodes = nodes;
  options.trace = trace;
  // Vary the environment with the seed: slow disks (fsync slower than the network) and harsher faults
  // on some seeds.
  if (seed % 2 == 1) options.disk_delay_max = 40;
  if (seed % 5 == 2) options.fault_rate = 0.15;
  if (seed % 7 == 3) options.drop_rate = 0.2;
  if (seed % 11 == 4) options.pre_vote = false;
  if (seed % 13 == 5) options.check_quorum = false;
  std::string failure = run_seed(options, kChaosTimeUnits, kLivenessTimeUnits);
  EXPECT_EQ(failure, "") << "seed " << seed << ", " << nodes << " nodes\nreplay with: " << replay_command(seed, nodes);
}

void run_many(uint64_t first_seed, uint64_t count) {
  std::signal(SIGABRT, on_abort);
  for (uint64_t seed = first_seed; seed < first_seed + count && !::testing::Test::HasFailure(); ++seed) {
    uint32_t nodes = 3 + 2 * static_cast<uint32_t>(seed % 3);  // 3, 5, 7
    run_one(seed, nodes, false);
  }
}

TEST(RaftSim, Quick) { run_many(env_u64("RINGKV_RAFT_SIM_FIRST_SEED", 1), 50); }

TEST(RaftSim, Many) {
  run_many(env_u64("RINGKV_RAFT_SIM_FIRST_SEED", 1000), env_u64("RINGKV_RAFT_SIM_SEEDS", 1000));
}

TEST(RaftSim, Replay) {
  uint64_t seed = env_u64("RINGKV_RAFT_SIM_SEED", 0);
  if (seed == 0) GTEST_SKIP() << "set RINGKV_RAFT_SIM_SEED (and RINGKV_RAFT_SIM_NODES) to replay one seed";
  std::signal(SIGABRT, on_abort);
  run_one(seed, static_cast<uint32_t>(env_u64("RINGKV_RAFT_SIM_NODES", 3)), env_u64("RINGKV_RAFT_SIM_TRACE", 0) != 0);
}

}  // namespace
}  // namespace ringkv::raft::sim
