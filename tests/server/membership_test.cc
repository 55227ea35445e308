// tests/server/membership_test.cc — the replicated member records (server/membership.h): entry codec,
// how conf changes and membership entries change them, etcd's reconfiguration checks, the snapshot
// section (and older snapshots without it), and the persisted identity file (server/membership_join.h).
#include "server/replica/membership.h"

#include <gtest/gtest.h>

#include "server/replica/membership_join.h"

namespace ringkv::server {
namespace {

using raft::ConfChange;
using raft::ConfChangeType;

member_record record(uint64_t id, std::vector<std::string> peers, std::string name = {}) {
  return make_member(id, std::move(peers), std::move(name));
}

membership three_members() {
  membership m;
  std::vector<member_record> known = {record(1, {"http://127.0.0.1:1"}, "n1"), record(2, {"http://127.0.0.1:2"}, "n2"),
                                      record(3, {"http://127.0.0.1:3"}, "n3")};
  m.apply_conf_change(ConfChange{ConfChangeType::kBootstrap, {3, 1, 2}}, known);
  return m;
}

TEST(MemberCodec, ChangeRoundTripsAndRejectsGarbage) {
  member_change change{member_op::publish, record(7, {"http://127.0.0.1:9"}, "n7")};
  change.record.client_urls = {"http://127.0.0.1:8"};
  change.record.is_learner = true;
  auto back = decode_member_change(encode_member_change(change));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->op, member_op::publish);
  EXPECT_EQ(back->record, change.record);

  EXPECT_FALSE(decode_member_change(""));
  EXPECT_FALSE(decode_member_change(std::string(1, char(9)) + "x"));             // unknown op
  EXPECT_FALSE(decode_member_change(std::string(1, char(member_op::publish))));  // member id 0
  EXPECT_FALSE(decode_member_change(std::string(1, char(member_op::publish)) + "\xff\xff"));
}

TEST(MemberCodec, PayloadCarriesKindAndRequestId) {
  member_change change{member_op::stage_add, record(5, {"http://127.0.0.1:5"})};
  std::string entry = encode_membership_payload(0x1122334455667788ull, change);
  auto payload = decode_membership_payload(entry);
  ASSERT_TRUE(payload);
  EXPECT_EQ(uint8_t(payload->kind), membership_payload_kind);
  EXPECT_EQ(payload->request_id, 0x1122334455667788ull);
  auto back = decode_member_change(payload->message);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->record, change.record);
  EXPECT_FALSE(decode_membership_payload(encode_payload(proposal_kind::put, 1, "x")));
  EXPECT_FALSE(decode_membership_payload(entry.substr(0, 5)));
}

TEST(Membership, BootstrapTakesNamesAndUrlsOfKnownIds) {
  membership m;
  m.apply_conf_change(ConfChange{ConfChangeType::kBootstrap, {1, 4}}, std::vector{record(1, {"http://a:1"}, "n1")});
  ASSERT_TRUE(m.find(1));
  EXPECT_EQ(m.find(1)->name, "n1");
  ASSERT_TRUE(m.find(4));
  EXPECT_TRUE(m.find(4)->peer_urls.empty());  // not known: filled when it publishes
  EXPECT_EQ(m.conf_state(), (raft::ConfState{{1, 4}, {}}));
  // A publish fills name and client URLs, and peer URLs only where none are known.
  member_record attributes = record(4, {"http://d:4"}, "n4");
  attributes.client_urls = {"http://d:5"};
  ASSERT_TRUE(m.apply({member_op::publish, attributes}).ok());
  EXPECT_EQ(m.find(4)->peer_urls, std::vector<std::string>{"http://d:4"});
  EXPECT_EQ(m.find(4)->client_urls, std::vector<std::string>{"http://d:5"});
  ASSERT_TRUE(m.apply({member_op::publish, record(1, {"http://other:1"}, "n1")}).ok());
  EXPECT_EQ(m.find(1)->peer_urls, std::vector<std::string>{"http://a:1"});
}

TEST(Membership, StagedAddBecomesAMemberWhenItsConfChangeApplies) {
  membership m = three_members();
  member_record added = record(9, {"http://127.0.0.1:9"});
  added.is_learner = true;
  ASSERT_TRUE(m.apply({member_op::stage_add, added}).ok());
  EXPECT_FALSE(m.find(9));  // staged only: not in the member list yet
  m.apply_conf_change(ConfChange{ConfChangeType::kAddLearner, {9}});
  ASSERT_TRUE(m.find(9));
  EXPECT_TRUE(m.find(9)->is_learner);
  EXPECT_EQ(m.find(9)->peer_urls, added.peer_urls);
  EXPECT_TRUE(m.staged().empty());
  EXPECT_EQ(m.learner_count(), 1u);
  EXPECT_EQ(m.conf_state(), (raft::ConfState{{1, 2, 3}, {9}}));
  // Promotion: AddVoter of a learner.
  m.apply_conf_change(ConfChange{ConfChangeType::kAddVoter, {9}});
  EXPECT_FALSE(m.find(9)->is_learner);
  EXPECT_EQ(m.conf_state(), (raft::ConfState{{1, 2, 3, 9}, {}}));
  // AddLearner never demotes a voter.
  m.apply_conf_change(ConfChange{ConfChangeType::kAddLearner, {9}});
  EXPECT_FALSE(m.find(9)->is_learner);
}

TEST(Membership, RemoveForgetsTheMemberAndRefusesItsIdForGood) {
  membership m = three_members();
  m.apply_conf_change(ConfChange{ConfChangeType::kRemoveNode, {2}});
  EXPECT_FALSE(m.find(2));
  EXPECT_TRUE(m.is_removed(2));
  EXPECT_EQ(m.conf_state(), (raft::ConfState{{1, 3}, {}}));
  EXPECT_EQ(m.apply({member_op::stage_add, record(2, {"http://x:2"})}), member_errors::id_exists());
  EXPECT_EQ(m.apply({member_op::publish, record(2, {}, "n2")}), member_errors::not_found());
  EXPECT_EQ(m.apply({member_op::update_peer_urls, record(2, {"http://y:2"})}), member_errors::not_found());
}

TEST(Membership, UpdateAndPeerUrlConflicts) {
  membership m = three_members();
  ASSERT_TRUE(m.apply({member_op::update_peer_urls, record(3, {"http://127.0.0.1:33"})}).ok());
  EXPECT_EQ(m.find(3)->peer_urls, std::vector<std::string>{"http://127.0.0.1:33"});
  std::vector<std::string> taken = {"http://127.0.0.1:1"};
  EXPECT_TRUE(m.peer_url_taken(taken));
  EXPECT_FALSE(m.peer_url_taken(taken, 1));  // its own URL is no conflict for an update of member 1
  std::vector<std::string> free_url = {"http://127.0.0.1:3"};
  EXPECT_FALSE(m.peer_url_taken(free_url));
  // A retried add with the same URLs replaces the abandoned staged one.
  ASSERT_TRUE(m.apply({member_op::stage_add, record(10, {"http://127.0.0.1:7"})}).ok());
  ASSERT_TRUE(m.apply({member_op::stage_add, record(11, {"http://127.0.0.1:7"})}).ok());
  EXPECT_EQ(m.staged().size(), 1u);
  EXPECT_TRUE(m.staged().contains(11));
}

TEST(Membership, StrictReconfigurationChecksAsEtcd) {
  membership m;
  m.apply_conf_change(ConfChange{ConfChangeType::kBootstrap, {1}}, std::vector{record(1, {"http://a:1"}, "n1")});
  EXPECT_TRUE(m.ready_to_add_voter());                 // etcd: a 1-member cluster may always grow
  m.apply_conf_change(ConfChange{ConfChangeType::kAddVoter, {2}});  // added, never started (no name)
  EXPECT_FALSE(m.ready_to_add_voter());                // 3 voters would need 2 started; 1 is
  EXPECT_TRUE(m.ready_to_remove_voter(2));             // removing the unstarted one leaves 1 of 1
  EXPECT_FALSE(m.ready_to_remove_voter(1));            // removing the started one leaves 0 of 1
  membership three = three_members();
  EXPECT_TRUE(three.ready_to_add_voter());
  EXPECT_TRUE(three.ready_to_remove_voter(1));
}

TEST(Membership, SectionRoundTripsAndRejectsCorruption) {
  membership m = three_members();
  m.apply({member_op::stage_add, record(12, {"http://127.0.0.1:12"})});
  m.apply_conf_change(ConfChange{ConfChangeType::kRemoveNode, {3}});
  std::string bytes = m.encode();
  auto back = membership::decode(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, m);
  EXPECT_FALSE(membership::decode(bytes.substr(0, bytes.size() - 1)));
  EXPECT_FALSE(membership::decode(bytes + "x"));
}

TEST(Membership, SnapshotWrapKeepsOlderSnapshotsReadable) {
  membership m = three_members();
  std::string state = std::string("\x02\x00\x00\x00\x00\x00\x00\x00", 8) + "store bytes";
  const std::string wrapped = wrap_snapshot(m, state);  // unwrapped views point into it
  unwrapped_snapshot u = unwrap_snapshot(wrapped);
  ASSERT_TRUE(u.valid);
  ASSERT_TRUE(u.members);
  EXPECT_EQ(*u.members, m);
  EXPECT_EQ(u.state, state);
  // A snapshot written before membership records: the state machine's bytes as they are.
  unwrapped_snapshot old = unwrap_snapshot(state);
  EXPECT_TRUE(old.valid);
  EXPECT_FALSE(old.members);
  EXPECT_EQ(old.state, state);
  // A membership prefix whose section is damaged is refused, never read as state.
  std::string damaged = wrap_snapshot(m, state);
  damaged[14] ^= 0x40;
  EXPECT_FALSE(unwrap_snapshot(damaged).valid);
  EXPECT_FALSE(unwrap_snapshot(std::string("\xff\xff\xff\xff", 4) + "RKM9").valid);
}

TEST(IdentityFile, RoundTripsAndDetectsCorruption) {
  member_identity identity;
  identity.cluster_id = 42;
  identity.member_id = 7;
  identity.members = {{7, "n1", {"http://127.0.0.1:1"}}, {9, "n2", {"http://127.0.0.1:2"}}};
  std::string bytes = encode_identity(identity);
  auto back = decode_identity(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->cluster_id, 42u);
  EXPECT_EQ(back->member_id, 7u);
  ASSERT_EQ(back->members.size(), 2u);
  EXPECT_EQ(back->members[1].name, "n2");
  bytes.back() ^= 1;
  EXPECT_FALSE(decode_identity(bytes));
  EXPECT_FALSE(decode_identity("RKIDENT1"));
}

TEST(JoinQuery, NobodyListeningIsAnErrorNotAHang) {
  std::string error;
  // Port 1 on loopback: connection refused at once.
  EXPECT_FALSE(query_members("http://127.0.0.1:1", std::chrono::milliseconds(500), &error));
  EXPECT_FALSE(error.empty());
  EXPECT_FALSE(query_members("not a url", std::chrono::milliseconds(500), &error));
}

}  // namespace
}  // namespace ringkv::server
