// tests/raft/scenario_test.cc: runs the text scenarios in tests/raft/scenarios/*.txt on the hand-driven
// harness. A scenario is a list of commands, one per line ('#' starts a comment); `expect` lines state
// what must hold and fail with the file and line. Commands (ids are node ids):
//   cluster N                 voters 1..N bootstrap a new cluster (must come first)
//   config KEY VALUE          before `cluster`: check_quorum|pre_vote 0/1, max_inflight_messages N,
//                             max_append_bytes N, max_uncommitted_bytes N
//   campaign ID | tick ID [N] | tick-all [N] | deliver | isolate ID | cut FROM TO | heal
//   rounds N                  N times: tick every node once, then deliver everything
//   propose ID PAYLOAD...     one batch of payloads          propose-expect STATUS ID PAYLOAD...
//   read ID CONTEXT...        read_index each, then one turn  transfer ID TO
//   add-learner ID NEW | add-voter ID NEW | remove ID NODE    membership change proposed at ID
//   join NEW                  start an empty node (no bootstrap)
//   pause-disk ID | flush-disk ID | crash ID                  crash = restart from its disk
//   compact ID                compact the log at the applied index
//   expect leader ID | expect leader-not ID (some other node leads) | expect role ID ROLE | expect term ID T
//   expect committed ID I | expect applied ID PAYLOAD,... | expect reads ID CONTEXT@INDEX,...
//   expect voters ID A,B,.. | expect learners ID A,.. | expect wire TYPE COUNT
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "raft/conf_change.h"
#include "tests/raft/harness.h"

namespace ringkv::raft::test {
namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

template <typename T>
std::string join_ids(const std::vector<T>& ids) {
  std::vector<std::string> parts;
  for (T id : ids) parts.push_back(std::to_string(id));
  return join(parts);
}

const char* status_name(ProposeStatus status) {
  switch (status) {
    case ProposeStatus::kAccepted: return "accepted";
    case ProposeStatus::kNoLeader: return "no-leader";
    case ProposeStatus::kTransferring: return "transferring";
    case ProposeStatus::kConfChangePending: return "conf-change-pending";
    case ProposeStatus::kInvalid: return "invalid";
    case ProposeStatus::kOverloaded: return "overloaded";
  }
  return "?";
}

std::optional<MessageType> message_type(const std::string& name) {
  static const char* names[] = {"append", "append-response", "heartbeat", "heartbeat-response", "vote",
                                "vote-response", "pre-vote", "pre-vote-response", "snapshot", "propose",
                                "read-index", "read-index-response", "timeout-now", "transfer-leader"};
  for (uint8_t i = 0; i < kMessageTypeCount; ++i) {
    if (name == names[i]) return static_cast<MessageType>(i);
  }
  return std::nullopt;
}

class ScenarioRunner {
 public:
  explicit ScenarioRunner(std::string file) : file_(std::move(file)) {}

  void run() {
    std::ifstream in(file_);
    ASSERT_TRUE(in) << "cannot open " << file_;
    std::string line;
    for (line_ = 1; std::getline(in, line); ++line_) {
      line = line.substr(0, line.find('#'));
      std::istringstream words(line);
      std::vector<std::string> args;
      for (std::string word; words >> word;) args.push_back(word);
      if (args.empty()) continue;
      command(args);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }

 private:
  std::string where() const { return file_ + ":" + std::to_string(line_); }
  NodeId id(const std::string& word) const { return std::stoull(word); }
  Harness& h() {
    if (!harness_) harness_ = std::make_unique<Harness>(3, tune_);  // implicit default cluster
    return *harness_;
  }

  ProposeResult propose(const std::vector<std::string>& args, size_t first) {
    std::vector<SharedBytes> payloads;
    for (size_t i = first; i < args.size(); ++i) payloads.push_back(SharedBytes::copy_of(std::string_view(args[i])));
    ProposeResult result = h().node(id(args[first - 1])).propose(payloads);
    h().drive(id(args[first - 1]));
    return result;
  }

  void change(ConfChangeType type, const std::vector<std::string>& args) {
    ProposeResult result = h().node(id(args[1])).propose_conf_change({type, {id(args[2])}});
    EXPECT_EQ(result.status, ProposeStatus::kAccepted) << where() << ": " << status_name(result.status);
    h().drive(id(args[1]));
  }

  void command(const std::vector<std::string>& a) {
    const std::string& c = a[0];
    static const std::map<std::string, size_t> words_min = {
        {"config", 3},  {"cluster", 2},     {"campaign", 2},       {"tick", 2},      {"isolate", 2},
        {"cut", 3},     {"rounds", 2},      {"propose", 3},        {"propose-expect", 4}, {"read", 3},
        {"transfer", 3}, {"add-learner", 3}, {"add-voter", 3},      {"remove", 3},    {"join", 2},
        {"pause-disk", 2}, {"flush-disk", 2}, {"crash", 2},        {"compact", 2},   {"expect", 3}};
    auto needed = words_min.find(c);
    if (needed != words_min.end() && a.size() < needed->second) {
      FAIL() << where() << ": '" << c << "' needs " << needed->second - 1 << " argument(s)";
    }
    if (c == "config") {
      std::string key = a[1];
      uint64_t value = std::stoull(a[2]);
      auto previous = tune_;
      tune_ = [previous, key, value](Config& config) {
        if (previous) previous(config);
        if (key == "check_quorum") config.check_quorum = value != 0;
        if (key == "pre_vote") config.pre_vote = value != 0;
        if (key == "max_inflight_messages") config.max_inflight_messages = static_cast<uint32_t>(value);
        if (key == "max_append_bytes") config.max_append_bytes = value;
        if (key == "max_uncommitted_bytes") config.max_uncommitted_bytes = value;
      };
    } else if (c == "cluster") {
      harness_ = std::make_unique<Harness>(static_cast<uint32_t>(std::stoul(a[1])), tune_);
    } else if (c == "campaign") {
      h().campaign(id(a[1]));
    } else if (c == "tick") {
      h().tick(id(a[1]), a.size() > 2 ? std::stoul(a[2]) : 1);
    } else if (c == "tick-all") {
      h().tick_all(a.size() > 1 ? std::stoul(a[1]) : 1);
    } else if (c == "deliver") {
      h().deliver_all();
    } else if (c == "rounds") {
      for (unsigned long i = 0; i < std::stoul(a[1]); ++i) {
        h().tick_all();
        h().deliver_all();
      }
    } else if (c == "isolate") {
      h().isolate(id(a[1]));
    } else if (c == "cut") {
      h().cut(id(a[1]), id(a[2]));
    } else if (c == "heal") {
      h().heal();
    } else if (c == "propose") {
      ProposeResult result = propose(a, 2);
      EXPECT_EQ(result.status, ProposeStatus::kAccepted) << where() << ": " << status_name(result.status);
    } else if (c == "propose-expect") {
      std::vector<std::string> rest(a.begin() + 1, a.end());
      ProposeResult result = propose(rest, 2);
      EXPECT_EQ(status_name(result.status), a[1]) << where();
    } else if (c == "read") {
      for (size_t i = 2; i < a.size(); ++i) h().node(id(a[1])).read_index(std::stoull(a[i]));
      h().drive(id(a[1]));
    } else if (c == "transfer") {
      h().node(id(a[1])).transfer_leadership(id(a[2]));
      h().drive(id(a[1]));
    } else if (c == "add-learner") {
      change(ConfChangeType::kAddLearner, a);
    } else if (c == "add-voter") {
      change(ConfChangeType::kAddVoter, a);
    } else if (c == "remove") {
      change(ConfChangeType::kRemoveNode, a);
    } else if (c == "join") {
      h().add_empty_node(id(a[1]));
    } else if (c == "pause-disk") {
      h().pause_disk(id(a[1]));
    } else if (c == "flush-disk") {
      h().flush_disk(id(a[1]));
    } else if (c == "crash") {
      h().crash_and_restart(id(a[1]));
    } else if (c == "compact") {
      Node& node = h().node(id(a[1]));
      EXPECT_TRUE(node.compact(node.log().applied, SharedBytes::copy_of(std::string_view("snapshot")))) << where();
    } else if (c == "expect") {
      expect(a);
    } else {
      FAIL() << where() << ": unknown command '" << c << "'";
    }
  }

  void expect(const std::vector<std::string>& a) {
    const std::string& what = a[1];
    bool takes_value = what == "role" || what == "term" || what == "committed" || what == "voters" || what == "wire";
    if (takes_value && a.size() < 4) FAIL() << where() << ": expect " << what << " needs two arguments";
    if (what == "leader") {
      EXPECT_EQ(h().leader(), id(a[2])) << where();
    } else if (what == "leader-not") {
      EXPECT_NE(h().leader(), kNoNode) << where() << ": no leader";
      EXPECT_NE(h().leader(), id(a[2])) << where();
    } else if (what == "role") {
      EXPECT_EQ(role_name(h().node(id(a[2])).role()), a[3]) << where();
    } else if (what == "term") {
      EXPECT_EQ(h().node(id(a[2])).term(), std::stoull(a[3])) << where();
    } else if (what == "committed") {
      EXPECT_EQ(h().node(id(a[2])).log().committed, std::stoull(a[3])) << where();
    } else if (what == "applied") {
      EXPECT_EQ(join(h().applied(id(a[2]))), a.size() > 3 ? a[3] : "") << where();
    } else if (what == "reads") {
      std::vector<std::string> reads;
      for (const ReadState& r : h().reads(id(a[2]))) reads.push_back(std::to_string(r.context) + "@" + std::to_string(r.index));
      EXPECT_EQ(join(reads), a.size() > 3 ? a[3] : "") << where();
    } else if (what == "voters") {
      EXPECT_EQ(join_ids(h().node(id(a[2])).conf().voters), a[3]) << where();
    } else if (what == "learners") {
      EXPECT_EQ(join_ids(h().node(id(a[2])).conf().learners), a.size() > 3 ? a[3] : "") << where();
    } else if (what == "wire") {
      std::optional<MessageType> type = message_type(a[2]);
      ASSERT_TRUE(type) << where() << ": unknown message type " << a[2];
      EXPECT_EQ(h().wire_count(*type), std::stoull(a[3])) << where();
    } else {
      FAIL() << where() << ": unknown expectation '" << what << "'";
    }
  }

  std::string file_;
  size_t line_ = 0;
  std::function<void(Config&)> tune_;
  std::unique_ptr<Harness> harness_;
};

TEST(RaftScenarios, AllScenarioFilesPass) {
  const char* dir = std::getenv("RINGKV_RAFT_SCENARIOS");
  ASSERT_NE(dir, nullptr) << "set RINGKV_RAFT_SCENARIOS to tests/raft/scenarios";
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".txt") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty()) << "no scenarios in " << dir;
  for (const std::string& file : files) {
    SCOPED_TRACE(file);
    ScenarioRunner(file).run();
  }
}

}  // namespace
}  // namespace ringkv::raft::test
