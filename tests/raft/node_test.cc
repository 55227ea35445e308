// tests/raft/node_test.cc: raft rules as small scenarios on a hand-driven cluster (tests/raft/harness.h).
// Each test reads as: set up the cluster, do something, deliver, and state what must hold.
#include <gtest/gtest.h>

#include "raft/conf_change.h"
#include "raft/node.h"
#include "tests/raft/harness.h"

namespace ringkv::raft::test {
namespace {

void no_check_quorum(Config& config) { config.check_quorum = false; }

Message vote_request(NodeId from, NodeId to, Term term, Index last_index, Term last_term) {
  Message m;
  m.type = MessageType::kVote;
  m.from = from;
  m.to = to;
  m.term = term;
  m.index = last_index;
  m.log_term = last_term;
  return m;
}

std::vector<Message> taken_of(Harness& h, MessageType type) {
  std::vector<Message> all = h.take_wire(), matching;
  for (Message& m : all) {
    if (m.type == type) matching.push_back(std::move(m));
  }
  return matching;
}

// Runs a bare node's ready loop with an instant disk.
void settle(Node& node) {
  while (node.has_ready()) {
    Ready rd = node.ready();
    PersistSeq seq = rd.persist_seq;
    node.advance(rd);
    if (seq != 0) node.mark_persisted(seq);
  }
}

// ---- elections ----

TEST(Election, SingleNodeBecomesLeaderAfterElectionTimeout) {
  Harness h(1);
  h.tick(1, 20);  // the randomized timeout lies in [10, 20) ticks
  EXPECT_EQ(h.node(1).role(), Role::kLeader);
  EXPECT_EQ(h.node(1).term(), 2u);  // bootstrap wrote term 1
}

TEST(Election, ThreeNodesElectOneLeaderWhoCommitsItsNoop) {
  Harness h(3);
  h.campaign(1);
  h.deliver_all();
  EXPECT_EQ(h.leader(), 1u);
  for (NodeId id : {1, 2, 3}) {
    EXPECT_EQ(h.node(id).leader(), 1u) << "node " << id;
    EXPECT_EQ(h.node(id).log().committed, 2u) << "bootstrap entry + the leader's no-op, node " << id;
  }
}

TEST(Election, FollowersElectANewLeaderWhenTheLeaderGoesSilent) {
  Harness h(3);
  h.elect(1);
  h.isolate(1);
  for (int round = 0; round < 40 && (h.leader() == 1 || h.leader() == kNoNode); ++round) {
    h.tick_all();
    h.deliver_all();
  }
  EXPECT_NE(h.leader(), 1u);
  EXPECT_NE(h.leader(), kNoNode);
}

TEST(Vote, GrantedToOneCandidatePerTerm) {
  Harness h(3, no_check_quorum);
  h.inject(vote_request(2, 1, 5, 1, 1));
  h.inject(vote_request(3, 1, 5, 1, 1));
  std::vector<Message> answers = taken_of(h, MessageType::kVoteResponse);
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[0].to, 2u);
  EXPECT_FALSE(answers[0].reject);
  EXPECT_EQ(answers[1].to, 3u);
  EXPECT_TRUE(answers[1].reject) << "node 1 already voted for node 2 in term 5";
  EXPECT_EQ(h.node(1).hard_state().vote, 2u);
}

TEST(Vote, DeniedToACandidateWithAStaleLog) {
  Harness h(3, no_check_quorum);
  h.elect(1);
  h.propose(1, "a");
  h.deliver_all();  // node 2's log ends at (3, term 2)
  h.inject(vote_request(3, 2, 9, 1, 1));  // node 3 claims a log ending at (1, term 1)
  std::vector<Message> answers = taken_of(h, MessageType::kVoteResponse);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_TRUE(answers[0].reject);
  EXPECT_EQ(h.node(2).term(), 9u) << "a higher term is adopted even when the vote is denied";
}

TEST(Vote, StaleCandidateIsToldTheCurrentTerm) {
  Harness h(3);
  h.elect(1);  // term 2
  h.take_wire();
  h.inject(vote_request(3, 2, 1, 9, 1));
  std::vector<Message> answers = taken_of(h, MessageType::kVoteResponse);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_TRUE(answers[0].reject);
  EXPECT_EQ(answers[0].term, 2u) << "the candidate learns term 2 and stops campaigning in older terms";
}

TEST(Vote, FollowerInTouchWithALeaderIgnoresDisruptiveCandidates) {
  Harness h(3);  // CheckQuorum on: followers that hear from a leader ignore votes for a while
  h.elect(1);
  Term term = h.node(2).term();
  h.inject(vote_request(3, 2, term + 5, 100, term + 4));
  EXPECT_TRUE(h.wire().empty()) << "no answer at all";
  EXPECT_EQ(h.node(2).term(), term);
  EXPECT_EQ(h.node(2).leader(), 1u);
}

// ---- PreVote and CheckQuorum ----

TEST(PreVote, IsolatedNodeDoesNotInflateItsTermOrDisruptOnReturn) {
  Harness h(3);
  h.elect(1);
  Term term = h.node(1).term();
  h.isolate(3);
  for (int i = 0; i < 10; ++i) {
    h.tick(3, 20);
    h.deliver_all();  // its pre-votes are lost
  }
  EXPECT_EQ(h.node(3).term(), term) << "pre-vote rounds never raise the term";
  h.heal();
  h.tick_all(3);
  h.deliver_all();
  EXPECT_EQ(h.leader(), 1u);
  EXPECT_EQ(h.node(1).term(), term);
}

TEST(CheckQuorum, PartitionedLeaderStepsDownWithinAnElectionTimeout) {
  Harness h(3);
  h.elect(1);
  h.isolate(1);
  h.tick(1, 10);  // election_ticks
  h.deliver_all();
  EXPECT_NE(h.node(1).role(), Role::kLeader);
}

TEST(CheckQuorum, PartitionedLeaderAcceptsProposalsButNeverCommitsThem) {
  Harness h(3);
  h.elect(1);
  h.isolate(1);
  ProposeResult result = h.propose(1, "split-brain?");
  h.deliver_all();
  EXPECT_EQ(result.status, ProposeStatus::kAccepted);
  EXPECT_LT(h.node(1).log().committed, result.last_index);
  EXPECT_TRUE(h.applied(1).empty());
}

// ---- log replication ----

TEST(Replication, CommittedEntriesAreAppliedEverywhereInOrder) {
  Harness h(3);
  h.elect(1);
  h.propose(1, "a");
  h.propose(1, "b");
  h.propose(2, "c");  // forwarded to the leader
  h.deliver_all();
  for (NodeId id : {1, 2, 3}) EXPECT_EQ(h.applied(id), (std::vector<std::string>{"a", "b", "c"})) << "node " << id;
}

TEST(Replication, ConflictingFollowerEntriesAreReplacedByTheLeaders) {
  Harness h(3, no_check_quorum);
  h.elect(1);
  h.isolate(1);
  h.propose(1, "lost-1");
  h.propose(1, "lost-2");
  h.deliver_all();  // dropped: only node 1 holds them
  h.elect(2);       // nodes 2 and 3 elect node 2 in term 3
  h.propose(2, "kept");
  h.deliver_all();
  h.heal();
  h.tick(2);  // heartbeat reaches node 1, which follows node 2 and takes its log
  h.deliver_all();
  h.tick(2);
  h.deliver_all();
  EXPECT_EQ(h.node(1).leader(), 2u);
  EXPECT_EQ(h.applied(1), std::vector<std::string>{"kept"});
  EXPECT_EQ(h.node(1).log().last_index(), h.node(2).log().last_index());
  EXPECT_EQ(h.node(1).log().term(3), 3u) << "index 3 now holds node 2's no-op of term 3";
}

TEST(Replication, FastBacktrackingSkipsADivergentTailInFewRoundTrips) {
  Harness h(3, no_check_quorum);
  h.elect(1);
  h.isolate(1);
  for (int i = 0; i < 50; ++i) h.propose(1, "divergent");
  h.deliver_all();
  h.elect(2);
  for (int i = 0; i < 50; ++i) h.propose(2, "good");
  h.deliver_all();
  h.heal();
  h.tick(2);
  size_t rejections = 0;
  while (!h.wire().empty()) {
    for (const Message& m : h.wire()) rejections += m.type == MessageType::kAppendResponse && m.reject && m.from == 1;
    h.deliver_one();
  }
  EXPECT_EQ(h.applied(1).size(), 50u);
  EXPECT_LE(rejections, 2u) << "one rejection hint lets the leader jump over all 50 divergent entries";
}

TEST(Replication, EarlierTermEntryCommitsOnlyThroughAnEntryOfTheCurrentTerm) {
  // Node 1 restarts holding an uncommitted entry of term 2, then wins term 3.
  Config config;
  config.id = 1;
  PersistedState state;
  state.hard_state = {2, kNoNode, 1};
  state.entries.push_back({1, 1, EntryType::kConfChange, encode_conf_change({ConfChangeType::kBootstrap, {1, 2, 3}})});
  state.entries.push_back({2, 2, EntryType::kNormal, SharedBytes::copy_of(std::string_view("old"))});
  Node node(config, state);
  node.campaign();
  settle(node);
  Message granted;
  granted.type = MessageType::kVoteResponse;
  granted.from = 2;
  granted.to = 1;
  granted.term = 3;
  node.step(granted);
  settle(node);
  ASSERT_EQ(node.role(), Role::kLeader);
  ASSERT_EQ(node.log().last_index(), 3u) << "the no-op of term 3";

  Message ack;
  ack.type = MessageType::kAppendResponse;
  ack.from = 2;
  ack.to = 1;
  ack.term = 3;
  ack.index = 2;  // a majority (nodes 1, 2) now holds the term-2 entry ...
  node.step(ack);
  settle(node);
  EXPECT_EQ(node.log().committed, 1u) << "... but it must not commit by counting replicas";
  ack.index = 3;
  node.step(ack);
  settle(node);
  EXPECT_EQ(node.log().committed, 3u) << "committing the term-3 no-op commits index 2 with it";
}

TEST(Replication, InflightWindowLimitsAppendsAwaitingAcknowledgement) {
  Harness h(3, [](Config& config) {
    config.max_inflight_messages = 2;
    config.max_append_bytes = 1;  // one entry per append
  });
  h.elect(1);
  for (int i = 0; i < 5; ++i) {
    SharedBytes payload = SharedBytes::copy_of(std::string_view("x"));
    h.node(1).propose({&payload, 1});
  }
  h.drive(1);
  size_t to_node2 = 0;
  for (const Message& m : h.wire()) to_node2 += m.type == MessageType::kAppend && m.to == 2;
  EXPECT_EQ(to_node2, 2u);
  h.deliver_all();
  EXPECT_EQ(h.applied(2).size(), 5u) << "acknowledgements open the window for the rest";
}

TEST(Batching, ProposalsOfOneTurnLeaveInOneAppendPerFollower) {
  Harness h(3);
  h.elect(1);
  for (int i = 0; i < 50; ++i) {
    SharedBytes payload = SharedBytes::copy_of(std::string_view("p"));
    h.node(1).propose({&payload, 1});
  }
  h.propose_many(1, 100);  // drives node 1 once
  EXPECT_EQ(h.wire_count(MessageType::kAppend), 2u);
  for (const Message& m : h.wire()) EXPECT_EQ(m.entries.size(), 150u);
  h.deliver_all();
  EXPECT_EQ(h.applied(3).size(), 150u);
}

// ---- asynchronous persistence ----

TEST(Durability, LeaderSendsAppendsWhileItsOwnWriteIsInFlightAndCountsItselfOnlyOnceDurable) {
  Harness h(3);
  h.elect(1);
  h.pause_disk(1);
  ProposeResult result = h.propose(1, "a");
  EXPECT_EQ(h.wire_count(MessageType::kAppend), 2u) << "appends leave before the leader's write is durable";
  h.isolate(3);
  h.deliver_all();  // node 2 persists and acknowledges
  EXPECT_LT(h.node(1).log().committed, result.last_index) << "node 2 alone is not a quorum of durable copies";
  h.flush_disk(1);
  EXPECT_EQ(h.node(1).log().committed, result.last_index);
  EXPECT_EQ(h.applied(1), std::vector<std::string>{"a"});
}

TEST(Durability, FollowerAcknowledgesOnlyAfterItsWriteIsDurable) {
  Harness h(3);
  h.elect(1);
  h.pause_disk(2);
  h.propose(1, "a");
  h.isolate(3);
  h.deliver_all();
  EXPECT_GT(h.node(2).held_messages(), 0u) << "the acknowledgement waits for node 2's disk";
  EXPECT_TRUE(h.applied(1).empty());
  h.flush_disk(2);
  h.deliver_all();
  EXPECT_EQ(h.applied(1), std::vector<std::string>{"a"});
}

TEST(Durability, CrashLosesUnpersistedEntriesAndTheLeaderResendsThem) {
  Harness h(3);
  h.elect(1);
  h.pause_disk(2);
  h.propose(1, "a");
  h.deliver_all();  // committed through nodes 1 and 3
  h.crash_and_restart(2);
  EXPECT_EQ(h.node(2).log().last_index(), 2u) << "only the durable prefix survives";
  h.tick(1);
  h.deliver_all();
  h.deliver_all();
  EXPECT_EQ(h.applied(2), std::vector<std::string>{"a"});
}

TEST(Durability, RestartedNodeRecoversTermVoteLogAndReappliesCommittedEntries) {
  Harness h(3);
  h.elect(1);
  h.propose(1, "a");
  h.propose(1, "b");
  h.deliver_all();
  HardState before = h.node(2).hard_state();
  h.crash_and_restart(2);
  EXPECT_EQ(h.node(2).term(), before.term);
  EXPECT_EQ(h.node(2).hard_state().vote, before.vote);
  EXPECT_EQ(h.node(2).log().last_index(), 4u);
  EXPECT_EQ(h.node(2).conf().voters, (std::vector<NodeId>{1, 2, 3}));
  h.tick(1);  // the leader's heartbeat tells it the commit index again (commit-only changes are not synced)
  h.deliver_all();
  EXPECT_EQ(h.applied(2), (std::vector<std::string>{"a", "b"}));
}

TEST(Durability, EntriesDurableWithoutTheirHardStateStillStart) {
  // A torn write kept term-3 entries but not the hard state naming term 3.
  Config config;
  config.id = 1;
  PersistedState state;
  state.hard_state = {2, 2, 1};
  state.entries.push_back({1, 1, EntryType::kConfChange, encode_conf_change({ConfChangeType::kBootstrap, {1, 2, 3}})});
  state.entries.push_back({3, 2, EntryType::kNormal, SharedBytes::copy_of(std::string_view("x"))});
  ASSERT_EQ(Node::check(config, state), "");
  Node node(config, state);
  EXPECT_EQ(node.term(), 3u);
  EXPECT_EQ(node.hard_state().vote, kNoNode) << "the vote belonged to term 2";
}

TEST(Durability, InconsistentDiskStateIsReportedNotTrusted) {
  Config config;
  config.id = 1;
  PersistedState gap;
  gap.hard_state = {2, kNoNode, 0};
  gap.entries.push_back({1, 1, EntryType::kNormal, {}});
  gap.entries.push_back({2, 3, EntryType::kNormal, {}});
  EXPECT_NE(Node::check(config, gap), "");
  config.id = kNoNode;
  EXPECT_NE(Node::check(config, PersistedState{}), "");
}

// ---- ReadIndex ----

TEST(ReadIndex, ReadsOfOneTurnShareOneHeartbeatRound) {
  Harness h(3);
  h.elect(1);
  for (uint64_t context : {7, 8, 9}) EXPECT_TRUE(h.node(1).read_index(context));
  h.drive(1);
  EXPECT_EQ(h.wire_count(MessageType::kHeartbeat), 2u) << "one heartbeat per follower for all three reads";
  h.deliver_all();
  std::vector<ReadState> reads = h.reads(1);
  ASSERT_EQ(reads.size(), 3u);
  for (const ReadState& read : reads) EXPECT_EQ(read.index, h.node(1).log().committed);
}

TEST(ReadIndex, FollowerReadIsAnsweredByTheLeader) {
  Harness h(3);
  h.elect(1);
  h.propose(1, "a");
  h.deliver_all();
  EXPECT_TRUE(h.node(3).read_index(42));
  h.drive(3);
  h.deliver_all();
  ASSERT_EQ(h.reads(3).size(), 1u);
  EXPECT_EQ(h.reads(3)[0].context, 42u);
  EXPECT_EQ(h.reads(3)[0].index, 3u) << "covers the write committed before the read";
}

TEST(ReadIndex, PartitionedLeaderCannotServeALinearizableRead) {
  Harness h(3);
  h.elect(1);
  h.isolate(1);
  h.node(1).read_index(5);
  h.drive(1);
  h.deliver_all();
  h.tick(1, 3);
  h.deliver_all();
  EXPECT_TRUE(h.reads(1).empty());
}

TEST(ReadIndex, NewLeaderAnswersOnlyAfterCommittingInItsTerm) {
  Harness h(3);
  h.campaign(1);
  while (h.node(1).role() != Role::kLeader) h.deliver_one();
  h.node(1).read_index(1);
  h.drive(1);
  EXPECT_EQ(h.wire_count(MessageType::kHeartbeat), 0u) << "the read waits for the no-op to commit";
  h.deliver_all();
  ASSERT_EQ(h.reads(1).size(), 1u);
  EXPECT_EQ(h.reads(1)[0].index, 2u);
}

TEST(ReadIndex, NoLeaderMeansNoRead) {
  Harness h(3);
  EXPECT_FALSE(h.node(2).read_index(1));
}

// ---- snapshots ----

TEST(Snapshot, LaggingFollowerReceivesTheSnapshotAndCatchesUp) {
  Harness h(3);
  h.elect(1);
  h.isolate(3);
  for (int i = 0; i < 10; ++i) h.propose(1, "e" + std::to_string(i));
  h.deliver_all();
  Index applied = h.node(1).log().applied;
  ASSERT_TRUE(h.node(1).compact(applied, SharedBytes::copy_of(std::string_view("state@12"))));
  EXPECT_EQ(h.node(1).log().first_index(), applied + 1);
  h.heal();
  h.propose(1, "after");
  for (int round = 0; round < 5; ++round) {
    h.deliver_all();
    h.tick(1);
  }
  h.deliver_all();
  ASSERT_NE(h.node(3).snapshot(), nullptr);
  EXPECT_EQ(h.node(3).snapshot()->data.view(), "state@12");
  EXPECT_EQ(h.node(3).snapshot()->meta.index, applied);
  EXPECT_EQ(h.applied(3), std::vector<std::string>{"after"}) << "entries after the snapshot arrive as a log";
  EXPECT_EQ(h.node(3).conf().voters, (std::vector<NodeId>{1, 2, 3})) << "membership comes with the snapshot";
}

TEST(Snapshot, CompactionIsRefusedBeyondTheAppliedIndex) {
  Harness h(1);
  h.tick(1, 20);
  EXPECT_FALSE(h.node(1).compact(h.node(1).log().applied + 1, {}));
  EXPECT_TRUE(h.node(1).compact(h.node(1).log().applied, {}));
  EXPECT_FALSE(h.node(1).compact(h.node(1).log().applied, {})) << "already compacted there";
}

// ---- membership ----

TEST(Membership, LearnerReceivesTheLogButNeverCountsTowardQuorum) {
  Harness h(3);
  h.elect(1);
  h.add_empty_node(4);
  EXPECT_EQ(h.node(1).propose_conf_change({ConfChangeType::kAddLearner, {4}}).status, ProposeStatus::kAccepted);
  h.drive(1);
  h.deliver_all();
  h.propose(1, "x");
  h.deliver_all();
  EXPECT_EQ(h.node(1).conf().learners, std::vector<NodeId>{4});
  EXPECT_EQ(h.applied(4), std::vector<std::string>{"x"});
  h.isolate(2);
  h.isolate(3);
  ProposeResult result = h.propose(1, "needs-a-voter");
  h.deliver_all();
  EXPECT_LT(h.node(1).log().committed, result.last_index) << "leader + learner are not a quorum of 3 voters";
}

TEST(Membership, LearnerIsPromotedToVoter) {
  Harness h(3);
  h.elect(1);
  h.add_empty_node(4);
  h.node(1).propose_conf_change({ConfChangeType::kAddLearner, {4}});
  h.drive(1);
  h.deliver_all();
  h.node(1).propose_conf_change({ConfChangeType::kAddVoter, {4}});
  h.drive(1);
  h.deliver_all();
  EXPECT_EQ(h.node(1).conf().voters, (std::vector<NodeId>{1, 2, 3, 4}));
  EXPECT_TRUE(h.node(4).conf().learners.empty());
}

TEST(Membership, OneChangeAtATime) {
  Harness h(3);
  h.elect(1);
  h.add_empty_node(4);
  h.add_empty_node(5);
  EXPECT_EQ(h.node(1).propose_conf_change({ConfChangeType::kAddLearner, {4}}).status, ProposeStatus::kAccepted);
  EXPECT_EQ(h.node(1).propose_conf_change({ConfChangeType::kAddLearner, {5}}).status, ProposeStatus::kConfChangePending);
  h.drive(1);
  h.deliver_all();
  EXPECT_EQ(h.node(1).propose_conf_change({ConfChangeType::kAddLearner, {5}}).status, ProposeStatus::kAccepted);
}

TEST(Membership, RemovedLeaderHandsOverAndStepsDown) {
  Harness h(3);
  h.elect(1);
  h.node(1).propose_conf_change({ConfChangeType::kRemoveNode, {1}});
  h.drive(1);
  h.deliver_all();
  EXPECT_NE(h.node(1).role(), Role::kLeader);
  NodeId leader = h.leader();
  ASSERT_TRUE(leader == 2 || leader == 3) << "the leader sent TimeoutNow to its most caught-up voter";
  EXPECT_EQ(h.node(leader).conf().voters, (std::vector<NodeId>{2, 3}));
  h.propose(leader, "after-removal");
  h.deliver_all();
  EXPECT_EQ(h.applied(leader), std::vector<std::string>{"after-removal"});
}

TEST(Membership, AChangeCountsFromTheLogAndIsRevertedWhenItsEntryIsTruncated) {
  Harness h(5, no_check_quorum);
  h.elect(1);
  h.add_empty_node(6);
  for (NodeId id : {3, 4, 5}) h.cut(1, id);
  h.cut(2, 1);  // node 2 gets the change, its acknowledgement is lost: never committed
  h.node(1).propose_conf_change({ConfChangeType::kAddLearner, {6}});
  h.drive(1);
  h.deliver_all();
  EXPECT_EQ(h.node(2).conf().learners, std::vector<NodeId>{6}) << "in effect as soon as it is in the log";
  h.heal();
  h.isolate(1);
  h.elect(3);  // nodes 3, 4, 5 never saw the change
  h.propose(3, "x");
  h.deliver_all();
  EXPECT_TRUE(h.node(2).conf().learners.empty()) << "node 3's log replaced the entry: the change is undone";
  EXPECT_EQ(h.applied(2), std::vector<std::string>{"x"});
}

TEST(Membership, LeaderThatRemovedItselfNoLongerCountsItselfForCommitsOrReads) {
  Harness h(3);
  h.elect(1);
  h.cut(1, 3);
  h.cut(3, 1);
  ProposeResult removal = h.node(1).propose_conf_change({ConfChangeType::kRemoveNode, {1}});
  h.drive(1);
  h.deliver_all();  // node 2 holds the removal; the new configuration {2, 3} needs both of them
  EXPECT_LT(h.node(1).log().committed, removal.last_index);
  EXPECT_EQ(h.node(1).role(), Role::kLeader);
  h.node(1).read_index(5);
  h.drive(1);
  h.deliver_all();
  EXPECT_TRUE(h.reads(1).empty()) << "node 2's echo alone is not a quorum of {2, 3}";
}

TEST(Membership, TheLastVoterCannotBeRemovedAndBadChangesAreRefused) {
  Harness h(1);
  h.tick(1, 20);
  EXPECT_EQ(h.node(1).propose_conf_change({ConfChangeType::kRemoveNode, {1}}).status, ProposeStatus::kInvalid);
  EXPECT_EQ(h.node(1).propose_conf_change({ConfChangeType::kAddVoter, {}}).status, ProposeStatus::kInvalid);
  EXPECT_EQ(h.node(1).propose_conf_change({ConfChangeType::kBootstrap, {2}}).status, ProposeStatus::kInvalid);
}

// ---- messages a member never sent (forged or corrupt peer frames) ----

TEST(Forged, TermFarAheadIsDroppedAndTheClusterKeepsItsLeader) {
  Harness h(3);
  h.elect(1);
  const Term term = h.node(2).term();
  Message forged;
  forged.type = MessageType::kHeartbeat;
  forged.from = 3;
  forged.to = 2;
  for (Term bad : {~Term{0}, kTermCeiling, term + kTermAdvanceMax + 1}) {
    forged.term = bad;
    h.inject(forged);
    EXPECT_EQ(h.node(2).term(), term) << "term " << bad << " is not adopted";
    EXPECT_EQ(h.node(2).leader(), 1u);
  }
  forged.type = MessageType::kAppend;
  forged.term = term + 3;  // within the bound: a real member in a later term, adopted as raft says
  h.inject(forged);
  EXPECT_EQ(h.node(2).term(), term + 3);
}

TEST(Forged, AcknowledgementBeyondTheLeadersLogCommitsNothing) {
  Harness h(3);
  h.elect(1);
  h.isolate(2);
  h.isolate(3);
  ProposeResult result = h.propose(1, "a");
  Message ack;
  ack.type = MessageType::kAppendResponse;
  ack.from = 2;
  ack.to = 1;
  ack.term = h.node(1).term();
  ack.index = result.last_index + 1000;  // claims entries the leader never wrote
  h.inject(ack);
  EXPECT_LT(h.node(1).log().committed, result.last_index) << "no quorum has the entry";
}

TEST(Forged, ForwardedBootstrapOrLastVoterRemovalIsANoOp) {
  Harness h(3);
  h.elect(1);
  const std::vector<NodeId> voters = h.node(1).conf().voters;
  for (const ConfChange& change : {ConfChange{ConfChangeType::kBootstrap, {2}}, ConfChange{ConfChangeType::kAddVoter, {}}}) {
    Message forwarded;
    forwarded.type = MessageType::kPropose;
    forwarded.from = 2;
    forwarded.to = 1;
    forwarded.term = h.node(1).term();
    forwarded.entries.push_back(Entry{0, 0, EntryType::kConfChange, encode_conf_change(change)});
    h.inject(forwarded);
    h.deliver_all();
    EXPECT_EQ(h.node(1).conf().voters, voters) << "the voter set is unchanged";
    EXPECT_EQ(h.node(1).log().at(h.node(1).log().last_index()).type, EntryType::kNormal) << "appended as a no-op";
  }
}

TEST(Forged, EntriesTheCallerCannotStoreAreRefusedEverywhere) {
  Harness h(3, [](Config& c) { c.max_entry_bytes = 16; });
  h.elect(1);
  const std::string big(17, 'x');
  EXPECT_EQ(h.propose(1, big).status, ProposeStatus::kInvalid) << "a local proposal";
  EXPECT_EQ(h.propose(2, big).status, ProposeStatus::kInvalid) << "a follower's, before forwarding";
  const Index before = h.node(2).log().last_index();
  Message append;  // a leader (or someone in its name) sends an entry over the limit
  append.type = MessageType::kAppend;
  append.from = 1;
  append.to = 2;
  append.term = h.node(2).term();
  append.index = before;
  append.log_term = h.node(2).log().last_term();
  append.entries.push_back(Entry{append.term, before + 1, EntryType::kNormal, SharedBytes::copy_of(std::string_view(big))});
  h.inject(append);
  EXPECT_EQ(h.node(2).log().last_index(), before) << "not appended, never handed to the disk";
  Message forwarded;  // a forwarded proposal over the limit becomes a no-op
  forwarded.type = MessageType::kPropose;
  forwarded.from = 2;
  forwarded.to = 1;
  forwarded.term = h.node(1).term();
  forwarded.entries.push_back(Entry{0, 0, EntryType::kNormal, SharedBytes::copy_of(std::string_view(big))});
  h.inject(forwarded);
  h.deliver_all();
  EXPECT_TRUE(h.applied(1).empty()) << "nothing of it applied";
  EXPECT_EQ(h.propose(1, "fits").status, ProposeStatus::kAccepted);
  h.deliver_all();
  EXPECT_EQ(h.applied(2), std::vector<std::string>{"fits"});
}

TEST(Forged, SnapshotTheCallerCannotDecodeIsNotTaken) {
  Harness h(3, [](Config& c) {
    c.accept_snapshot = [](const Snapshot& snapshot) { return snapshot.data.view().starts_with("state@"); };
  });
  h.elect(1);
  const Index committed = h.node(2).log().committed;
  Message m;
  m.type = MessageType::kSnapshot;
  m.from = 1;
  m.to = 2;
  m.term = h.node(2).term();
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->meta = SnapshotMeta{committed + 50, m.term, ConfState{{1, 2, 3}, {}}};
  snapshot->data = SharedBytes::copy_of(std::string_view("garbage"));
  m.snapshot = snapshot;
  h.inject(m);
  EXPECT_EQ(h.node(2).snapshot(), nullptr) << "refused before raft takes it in";
  EXPECT_EQ(h.node(2).log().committed, committed);
  auto good = std::make_shared<Snapshot>(*snapshot);
  good->data = SharedBytes::copy_of(std::string_view("state@x"));
  m.snapshot = good;
  h.inject(m);
  ASSERT_NE(h.node(2).snapshot(), nullptr) << "a decodable one is taken";
  EXPECT_EQ(h.node(2).snapshot()->meta.index, committed + 50);
}

// ---- leader transfer ----

TEST(Transfer, LeadershipMovesToTheTransfereeInTheNextTerm) {
  Harness h(3);
  h.elect(1);
  Term term = h.node(1).term();
  h.node(1).transfer_leadership(2);
  h.drive(1);
  EXPECT_EQ(h.propose(1, "during").status, ProposeStatus::kTransferring);
  h.deliver_all();
  EXPECT_EQ(h.leader(), 2u);
  EXPECT_EQ(h.node(2).term(), term + 1);
}

TEST(Transfer, LaggingTransfereeIsCaughtUpFirst) {
  Harness h(3);
  h.elect(1);
  h.isolate(3);
  h.propose(1, "a");
  h.propose(1, "b");
  h.deliver_all();
  h.heal();
  h.node(2).transfer_leadership(3);  // asked on a follower: forwarded to the leader
  h.drive(2);
  h.deliver_all();
  h.tick(1);
  h.deliver_all();
  EXPECT_EQ(h.leader(), 3u);
  EXPECT_EQ(h.applied(3), (std::vector<std::string>{"a", "b"}));
}

TEST(Transfer, AbandonedAfterAnElectionTimeoutIfTheTransfereeIsGone) {
  Harness h(3);
  h.elect(1);
  h.isolate(2);
  h.node(1).transfer_leadership(2);
  h.drive(1);
  EXPECT_EQ(h.node(1).transferee(), 2u);
  h.cut(1, 2);
  h.heal();
  h.cut(1, 2);
  h.cut(2, 1);
  for (int i = 0; i < 10; ++i) {
    h.tick(1);
    h.deliver_all();
  }
  EXPECT_EQ(h.node(1).transferee(), kNoNode);
  EXPECT_EQ(h.leader(), 1u);
  EXPECT_EQ(h.propose(1, "again").status, ProposeStatus::kAccepted);
}

// ---- flow control of proposals ----

TEST(Backpressure, LeaderRefusesProposalsBeyondTheUncommittedLimit) {
  Harness h(3, [](Config& config) { config.max_uncommitted_bytes = 10; });
  h.elect(1);
  h.isolate(2);
  h.isolate(3);
  EXPECT_EQ(h.propose(1, "0123456789").status, ProposeStatus::kAccepted);
  EXPECT_EQ(h.propose(1, "more").status, ProposeStatus::kOverloaded);
  h.heal();
  h.tick(1);
  h.deliver_all();
  h.deliver_all();
  EXPECT_EQ(h.propose(1, "more").status, ProposeStatus::kAccepted) << "commit drains the backlog";
}

}  // namespace
}  // namespace ringkv::raft::test
