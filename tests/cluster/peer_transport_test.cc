// net/peer: cluster/member ids, the frame format, and peer_transport over loopback: thousands of raft
// messages between two and three members arrive complete and in order per pair; a down peer never blocks
// send(), its queue stays bounded, it is reported unreachable, and queued messages arrive once it is up;
// a corrupted, undecodable, foreign-cluster or removed-member frame closes its connection and delivers
// nothing (a removed member is first sent a removed notice, which its outbound side reports); a joining
// member's members query gets the server's answer; a 32 MiB snapshot arrives intact; and a short
// messages/s figure is printed.
#include "net/peer/peer_transport.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "net/peer/cluster_id.h"
#include "net/peer/frame.h"
#include "net/tcp/connect.h"
#include "raft/codec.h"
#include "runtime/reactor.h"
#include "runtime/timer.h"
#include "tests/cluster/peer_test_support.h"

namespace ringkv::net::peer {
namespace {

using namespace std::chrono_literals;
using namespace testing;

constexpr uint64_t test_cluster = 0x5eedc1057e5ull;

// ---------------------------------------------------------------- ids

TEST(ClusterId, IndependentOfMemberAndUrlOrder) {
  std::vector<initial_member> a = {{"n1", {"http://127.0.0.1:2380"}}, {"n2", {"http://127.0.0.1:22380", "http://10.0.0.2:2380"}}};
  std::vector<initial_member> b = {{"n2", {"http://10.0.0.2:2380", "http://127.0.0.1:22380"}}, {"n1", {"http://127.0.0.1:2380"}}};
  EXPECT_EQ(cluster_id("tok", a), cluster_id("tok", b));
  EXPECT_NE(cluster_id("tok", a), cluster_id("other-token", a));
  std::vector<initial_member> c = a;
  c.push_back({"n3", {"http://127.0.0.1:32380"}});
  EXPECT_NE(cluster_id("tok", a), cluster_id("tok", c));
  // Field boundaries matter: "n1"+"x" is not "n"+"1x".
  EXPECT_NE(cluster_id("tok", {{"n1", {"x"}}}), cluster_id("tok", {{"n", {"1x"}}}));
  EXPECT_NE(cluster_id("tok", a), 0u);
}

TEST(MemberId, FromNameAndSortedUrls) {
  EXPECT_EQ(member_id("n1", {"http://a:1", "http://b:2"}), member_id("n1", {"http://b:2", "http://a:1"}));
  EXPECT_NE(member_id("n1", {"http://a:1"}), member_id("n2", {"http://a:1"}));
  EXPECT_NE(member_id("n1", {"http://a:1"}), member_id("n1", {"http://a:2"}));
  EXPECT_NE(member_id("n1", {"http://a:1"}), 0u);
}

TEST(InitialCluster, ParsesEtcdFlag) {
  std::string error;
  auto members = parse_initial_cluster("n1=http://127.0.0.1:2380,n2=http://127.0.0.1:22380,n1=http://[::1]:2380", &error);
  ASSERT_TRUE(members) << error;
  ASSERT_EQ(members->size(), 2u);
  EXPECT_EQ((*members)[0].name, "n1");
  EXPECT_EQ((*members)[0].peer_urls.size(), 2u);
  EXPECT_FALSE(parse_initial_cluster("n1http://x:1", &error));
  EXPECT_FALSE(parse_initial_cluster("=http://x:1", &error));
  EXPECT_FALSE(parse_initial_cluster("", &error));
  auto e = endpoint_of_peer_url("http://127.0.0.1:2380");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->port(), 2380);
  EXPECT_TRUE(endpoint_of_peer_url("https://[::1]:2380/"));
  EXPECT_FALSE(endpoint_of_peer_url("127.0.0.1:2380"));
}

// ---------------------------------------------------------------- frames

raft::Message append_message(raft::NodeId from, raft::NodeId to, uint64_t seq, size_t payload_bytes = 48) {
  raft::Message m;
  m.type = raft::MessageType::kAppend;
  m.from = from;
  m.to = to;
  m.term = 3;
  m.log_term = 3;
  m.index = seq;
  m.commit = seq;
  std::string payload(payload_bytes, static_cast<char>('a' + seq % 26));
  m.entries.push_back(raft::Entry{3, seq + 1, raft::EntryType::kNormal, raft::SharedBytes::copy_of(payload)});
  return m;
}

std::vector<std::byte> flatten(const encoded_frame& f) {
  std::vector<std::byte> out(f.lead.begin(), f.lead.end());
  const auto* m = reinterpret_cast<const std::byte*>(f.message.data());
  out.insert(out.end(), m, m + f.message.size());
  return out;
}

TEST(Frame, PrefixAndHeaderDescribeTheBody) {
  const frame_header header{test_cluster, 7, 9};
  encoded_frame f = make_frame(header, raft::encode_message(append_message(7, 9, 1)));
  std::vector<std::byte> bytes = flatten(f);
  const frame_prefix prefix = parse_prefix(std::span(bytes).first<frame_prefix_bytes>());
  EXPECT_EQ(prefix.body_bytes, bytes.size() - frame_prefix_bytes);
  EXPECT_EQ(prefix.body_checksum, XXH3_64bits(bytes.data() + frame_prefix_bytes, prefix.body_bytes));
  EXPECT_EQ(parse_header(std::span(bytes).subspan(frame_prefix_bytes).first<frame_header_bytes>()), header);
  EXPECT_TRUE(check_prefix(prefix).empty());
  EXPECT_FALSE(check_prefix({frame_header_bytes - 1, 0}).empty());
  EXPECT_FALSE(check_prefix({static_cast<uint32_t>(frame_body_bytes_max + 1), 0}).empty());
}

// ---------------------------------------------------------------- transports on loopback



// One member: its transport and everything its callbacks saw.
struct member {
  explicit member(raft::NodeId id, uint64_t cluster = test_cluster, peer_limits limits = fast_limits(),
                  endpoint listen = endpoint::loopback_v4(0))
      : id(id),
        transport({cluster, id, listen, limits, std::nullopt},
                  {[this](raft::Message&& m) {
                     ++received_count;
                     if (m.index != ++next_index_from[m.from]) ++out_of_order;
                     if (keep_messages) received.push_back(std::move(m));
                   },
                   [this](raft::NodeId peer) { ++unreachable[peer]; },
                   [this](raft::NodeId peer, raft::SnapshotStatus s) { snapshot_reports.push_back({peer, s}); },
                   [this] { return members_answer; },
                   [this] { ++removed_notices; }}) {}

  raft::NodeId id;
  std::vector<raft::Message> received;  // when keep_messages
  bool keep_messages = true;
  size_t received_count = 0;
  std::map<raft::NodeId, uint64_t> next_index_from;  // the index each sender's next message should carry
  size_t out_of_order = 0;
  std::map<raft::NodeId, int> unreachable;
  std::vector<std::pair<raft::NodeId, raft::SnapshotStatus>> snapshot_reports;
  std::string members_answer = "the members, as the server encodes them";  // answer to a members query
  size_t removed_notices = 0;  // peers told us we were removed
  peer_transport transport;
};


using members = std::vector<std::unique_ptr<member>>;

members start_members(size_t count) {
  members all;
  for (size_t i = 0; i < count; ++i) {
    all.push_back(std::make_unique<member>(i + 1));
    EXPECT_EQ(all.back()->transport.start(), 0);
  }
  for (auto& a : all) {
    for (auto& b : all) {
      if (a != b) a->transport.add_peer(b->id, b->transport.local());
    }
  }
  return all;
}

runtime::task<void> stop_all(members& all) {
  for (auto& m : all) co_await m->transport.stop();
}

// `m` received exactly `expected` messages; from each sender, indexes 1, 2, ... with intact payloads.
void check_complete_and_in_order(const member& m, size_t expected) {
  EXPECT_EQ(m.received.size(), expected);
  std::map<raft::NodeId, uint64_t> next;
  for (const raft::Message& got : m.received) {
    uint64_t& want = next[got.from];
    ++want;
    EXPECT_EQ(got.to, m.id);
    ASSERT_EQ(got.index, want) << "from " << got.from << " to " << m.id << ": reordered or lost";
    ASSERT_EQ(got.entries.size(), 1u);
    EXPECT_EQ(got.entries[0].data.view(), std::string(48, static_cast<char>('a' + want % 26)));
  }
  EXPECT_EQ(m.transport.stats().messages_sent, expected);
  EXPECT_TRUE(m.unreachable.empty());
  EXPECT_LT(m.transport.stats().vectored_writes, m.transport.stats().messages_sent) << "no coalescing";
}

// Every member sends `per_pair` messages to every other, interleaved; each receiver must see, from each
// sender, exactly indexes 1..per_pair in order with intact payloads.
runtime::task<int> exchange(size_t member_count, uint64_t per_pair) {
  members all = start_members(member_count);
  for (uint64_t seq = 1; seq <= per_pair; ++seq) {
    for (auto& a : all) {
      for (auto& b : all) {
        if (a != b) {
          EXPECT_TRUE(a->transport.send(append_message(a->id, b->id, seq)));
        }
      }
      if (seq % 512 == 0) co_await runtime::yield();  // let writers drain between bursts
    }
  }
  const size_t expected = per_pair * (member_count - 1);
  EXPECT_TRUE(co_await eventually([&] {
    for (auto& m : all) {
      if (m->received.size() < expected) return false;
    }
    return true;
  }));
  for (auto& m : all) check_complete_and_in_order(*m, expected);
  co_await stop_all(all);
  co_return 0;
}

TEST(PeerTransport, TwoMembersExchangeThousandsInOrder) {
  run_on_runtime([] { return exchange(2, 5000); });
}

TEST(PeerTransport, ThreeMembersExchangeThousandsInOrder) {
  run_on_runtime([] { return exchange(3, 3000); });
}

// A port nobody listens on (bound once, then released).
endpoint free_loopback_port() {
  result<listener> l = listener::open(endpoint::loopback_v4(0));
  EXPECT_TRUE(l.ok());
  return l.value().local();
}

TEST(PeerTransport, DownPeerNeverBlocksBoundsItsQueueAndIsReachedOnceUp) {
  run_on_runtime([]() -> runtime::task<int> {
    peer_limits limits = fast_limits();
    limits.queue_messages_limit = 64;
    member a(1, test_cluster, limits);
    EXPECT_EQ(a.transport.start(), 0);
    const endpoint b_address = free_loopback_port();
    a.transport.add_peer(2, b_address);
    const auto began = runtime::clock::now();
    size_t queued = 0;
    for (uint64_t seq = 1; seq <= 1000; ++seq) queued += a.transport.send(append_message(1, 2, seq)) ? 1 : 0;
    EXPECT_LT(runtime::clock::now() - began, 500ms) << "send() waited for a dead peer";
    EXPECT_EQ(queued, 64u);
    EXPECT_EQ(a.transport.queued_messages(2), 64u);
    EXPECT_EQ(a.transport.stats().dropped_queue_full, 1000u - 64u);
    EXPECT_TRUE(co_await eventually([&] { return a.unreachable[2] > 0 && a.transport.stats().connect_failures >= 2; }));
    EXPECT_EQ(a.transport.queued_messages(2), 64u);

    // B comes up on that port: the 64 queued messages arrive, in order, then new ones.
    member b(2, test_cluster, fast_limits(), b_address);
    EXPECT_EQ(b.transport.start(), 0);
    EXPECT_TRUE(co_await eventually([&] { return b.received.size() == 64; }));
    for (uint64_t seq = 1001; seq <= 1010; ++seq) EXPECT_TRUE(a.transport.send(append_message(1, 2, seq)));
    EXPECT_TRUE(co_await eventually([&] { return b.received.size() == 74; }));
    for (size_t i = 0; i < b.received.size(); ++i) {
      EXPECT_EQ(b.received[i].index, i < 64 ? i + 1 : 1001 + (i - 64));
    }
    co_await a.transport.stop();
    co_await b.transport.stop();
    co_return 0;
  });
}

TEST(PeerTransport, PeerGoingDownIsReportedAndReconnected) {
  run_on_runtime([]() -> runtime::task<int> {
    member a(1);
    EXPECT_EQ(a.transport.start(), 0);
    auto b = std::make_unique<member>(2);
    EXPECT_EQ(b->transport.start(), 0);
    const endpoint b_address = b->transport.local();
    a.transport.add_peer(2, b_address);
    EXPECT_TRUE(a.transport.send(append_message(1, 2, 1)));
    EXPECT_TRUE(co_await eventually([&] { return b->received.size() == 1; }));
    co_await b->transport.stop();
    b.reset();
    EXPECT_TRUE(co_await eventually([&] { return a.unreachable[2] > 0; }));
    member b2(2, test_cluster, fast_limits(), b_address);
    EXPECT_EQ(b2.transport.start(), 0);
    // Messages sent while the old connection dies may be lost (raft retransmits); later ones must arrive.
    EXPECT_TRUE(co_await eventually([&] {
      a.transport.send(append_message(1, 2, 2));
      return !b2.received.empty();
    }));
    EXPECT_GE(a.transport.stats().connects, 2u);
    co_await a.transport.stop();
    co_await b2.transport.stop();
    co_return 0;
  });
}

// Writes raw bytes to `to` and reports whether the transport then closed the connection; what it sent
// back before closing goes to `answer` (a removed notice or a members answer), else none is expected.
runtime::task<bool> closed_after(const endpoint& to, std::vector<std::byte> bytes,
                                 std::vector<std::byte>* answer = nullptr) {
  result<connection> c = co_await connect(to, 2s);
  EXPECT_TRUE(c.ok());
  if (!c) co_return false;
  connection& conn = c.value();
  EXPECT_EQ(co_await conn.write(bytes), static_cast<int>(bytes.size()));
  std::byte sink[256];
  int got = 0;
  while (true) {
    got = co_await runtime::with_timeout(5s, [&](runtime::cancel_token*) { return conn.read_some(sink); });
    if (got <= 0) break;
    EXPECT_NE(answer, nullptr) << "the transport answered a frame that deserves no answer";
    if (answer != nullptr) answer->insert(answer->end(), sink, sink + got);
  }
  co_await conn.close();
  co_return got == 0 || got == -ECONNRESET;
}

// The message of one frame `bytes` that must carry `header` and a valid checksum.
std::string frame_message(const std::vector<std::byte>& bytes, const frame_header& header) {
  if (bytes.size() < frame_lead_bytes) return "<short: " + std::to_string(bytes.size()) + " bytes>";
  const frame_prefix prefix = parse_prefix(std::span(bytes).first<frame_prefix_bytes>());
  EXPECT_EQ(prefix.body_bytes, bytes.size() - frame_prefix_bytes);
  EXPECT_EQ(prefix.body_checksum, XXH3_64bits(bytes.data() + frame_prefix_bytes, bytes.size() - frame_prefix_bytes));
  EXPECT_EQ(parse_header(std::span(bytes).subspan(frame_prefix_bytes).first<frame_header_bytes>()), header);
  return std::string(reinterpret_cast<const char*>(bytes.data()) + frame_lead_bytes, bytes.size() - frame_lead_bytes);
}

std::vector<std::byte> frame_bytes(uint64_t cluster, raft::NodeId from, raft::NodeId to, uint64_t seq) {
  return flatten(make_frame({cluster, from, to}, raft::encode_message(append_message(from, to, seq))));
}

TEST(PeerTransport, BadFramesCloseTheConnectionAndDeliverNothing) {
  run_on_runtime([]() -> runtime::task<int> {
    member b(2);
    b.transport.mark_removed(9);
    EXPECT_EQ(b.transport.start(), 0);
    const endpoint at = b.transport.local();

    // A good frame, then the same frame with one body byte flipped.
    std::vector<std::byte> good = frame_bytes(test_cluster, 1, 2, 1);
    std::vector<std::byte> corrupted = frame_bytes(test_cluster, 1, 2, 2);
    corrupted[corrupted.size() - 5] ^= std::byte{0x40};
    std::vector<std::byte> stream = good;
    stream.insert(stream.end(), corrupted.begin(), corrupted.end());
    stream.insert(stream.end(), good.begin(), good.end());  // after the bad frame: must not be read
    EXPECT_TRUE(co_await closed_after(at, stream));
    EXPECT_EQ(b.received.size(), 1u);
    EXPECT_EQ(b.transport.stats().rejected_checksum, 1u);

    // Correct checksum, but the body is not a raft message.
    raft::SharedBytes junk = raft::SharedBytes::copy_of(std::string_view("definitely not a flatbuffer"));
    EXPECT_TRUE(co_await closed_after(at, flatten(make_frame({test_cluster, 1, 2}, junk))));
    EXPECT_EQ(b.transport.stats().rejected_undecodable, 1u);

    // Another cluster, a removed member, a frame for someone else, and an absurd length.
    EXPECT_TRUE(co_await closed_after(at, frame_bytes(test_cluster + 1, 1, 2, 3)));
    EXPECT_EQ(b.transport.stats().rejected_wrong_cluster, 1u);
    std::vector<std::byte> notice;  // a removed member is told so before the connection closes
    EXPECT_TRUE(co_await closed_after(at, frame_bytes(test_cluster, 9, 2, 3), &notice));
    EXPECT_EQ(b.transport.stats().rejected_removed_sender, 1u);
    EXPECT_EQ(frame_message(notice, {test_cluster, 2, 9}), removed_notice_message);
    EXPECT_EQ(b.transport.stats().removed_notices_sent, 1u);
    EXPECT_TRUE(co_await closed_after(at, frame_bytes(test_cluster, 1, 3, 3)));
    EXPECT_EQ(b.transport.stats().rejected_misaddressed, 1u);
    // A connection that spoke as member 1 then sends in member 3's name (a forged acknowledgement, say):
    // member 1's frame is delivered, the other is not, and the connection closes.
    std::vector<std::byte> as_two_members = frame_bytes(test_cluster, 1, 2, 4);
    std::vector<std::byte> in_another_name = frame_bytes(test_cluster, 3, 2, 5);
    as_two_members.insert(as_two_members.end(), in_another_name.begin(), in_another_name.end());
    EXPECT_TRUE(co_await closed_after(at, as_two_members));
    EXPECT_EQ(b.transport.stats().rejected_misaddressed, 2u);
    EXPECT_EQ(b.received.size(), 2u);
    std::vector<std::byte> huge(frame_prefix_bytes, std::byte{0xff});
    EXPECT_TRUE(co_await closed_after(at, huge));
    EXPECT_EQ(b.transport.stats().rejected_bad_prefix, 1u);

    EXPECT_EQ(b.received.size(), 2u);
    co_await b.transport.stop();
    co_return 0;
  });
}

TEST(PeerTransport, OtherClusterAndRemovedMemberAreRejected) {
  run_on_runtime([]() -> runtime::task<int> {
    member b(2);
    EXPECT_EQ(b.transport.start(), 0);
    member foreign(1, test_cluster ^ 1);  // same member id, other cluster
    EXPECT_EQ(foreign.transport.start(), 0);
    foreign.transport.add_peer(2, b.transport.local());
    for (uint64_t seq = 1; seq <= 10; ++seq) foreign.transport.send(append_message(1, 2, seq));
    EXPECT_TRUE(co_await eventually([&] { return b.transport.stats().rejected_wrong_cluster > 0; }));

    member c(3);
    EXPECT_EQ(c.transport.start(), 0);
    c.transport.add_peer(2, b.transport.local());
    EXPECT_TRUE(c.transport.send(append_message(3, 2, 1)));
    EXPECT_TRUE(co_await eventually([&] { return b.received.size() == 1; }));
    b.transport.mark_removed(3);
    for (uint64_t seq = 2; seq <= 10; ++seq) c.transport.send(append_message(3, 2, seq));
    EXPECT_TRUE(co_await eventually([&] { return b.transport.stats().rejected_removed_sender > 0; }));
    EXPECT_TRUE(co_await eventually([&] { return c.unreachable[2] > 0; }));  // the sender sees the close
    EXPECT_TRUE(co_await eventually([&] { return c.removed_notices > 0; }));  // and learns it was removed
    EXPECT_EQ(foreign.removed_notices, 0u);
    EXPECT_EQ(b.received.size(), 1u);
    EXPECT_EQ(b.received[0].from, 3u);
    co_await foreign.transport.stop();
    co_await c.transport.stop();
    co_await b.transport.stop();
    co_return 0;
  });
}

TEST(PeerTransport, MembersQueryIsAnsweredOnceThenClosed) {
  run_on_runtime([]() -> runtime::task<int> {
    member b(2);
    EXPECT_EQ(b.transport.start(), 0);
    // A joining member knows neither the cluster nor its id: header all zero, empty message.
    std::vector<std::byte> answer;
    EXPECT_TRUE(co_await closed_after(b.transport.local(), flatten(make_frame({}, raft::SharedBytes{})), &answer));
    EXPECT_EQ(frame_message(answer, {test_cluster, 2, raft::kNoNode}), b.members_answer);
    EXPECT_EQ(b.transport.stats().members_queries, 1u);
    EXPECT_TRUE(b.received.empty());
    co_await b.transport.stop();
    co_return 0;
  });
}

// A kSnapshot message from 1 to 2 whose data is `bytes` of a pattern.
raft::Message snapshot_message(size_t bytes) {
  raft::SharedBytes data = raft::SharedBytes::allocate(bytes);
  for (size_t i = 0; i < bytes; ++i) data.mutable_data()[i] = static_cast<uint8_t>(i * 2654435761u >> 13);
  auto snapshot = std::make_shared<raft::Snapshot>();
  snapshot->meta = {1000, 3, {{1, 2}, {}}};
  snapshot->data = data;
  raft::Message m;
  m.type = raft::MessageType::kSnapshot;
  m.from = 1;
  m.to = 2;
  m.term = 3;
  m.snapshot = snapshot;
  return m;
}

TEST(PeerTransport, SnapshotsToADownPeerAreReportedFailed) {
  run_on_runtime([]() -> runtime::task<int> {
    peer_limits limits = fast_limits();
    limits.queue_bytes_limit = 1 << 20;
    member a(1, test_cluster, limits);
    EXPECT_EQ(a.transport.start(), 0);
    a.transport.add_peer(2, free_loopback_port());
    EXPECT_TRUE(a.transport.send(snapshot_message(2 << 20)));   // above the byte limit, but the queue is empty
    EXPECT_FALSE(a.transport.send(snapshot_message(2 << 20)));  // dropped: the queue is full
    EXPECT_TRUE(a.transport.send(append_message(1, 2, 1)));     // other messages have their own queue
    EXPECT_TRUE(a.snapshot_reports.empty()) << "callbacks must not run inside send()";
    EXPECT_TRUE(co_await eventually([&] { return a.snapshot_reports.size() == 1; }));
    a.transport.remove_peer(2);  // the queued snapshot is dropped with its peer
    EXPECT_TRUE(co_await eventually([&] { return a.snapshot_reports.size() == 2; }));
    for (const auto& report : a.snapshot_reports) {
      EXPECT_EQ(report, std::make_pair(raft::NodeId{2}, raft::SnapshotStatus::kFailed));
    }
    EXPECT_FALSE(a.transport.send(append_message(1, 2, 2)));  // unknown peer now
    EXPECT_EQ(a.transport.stats().dropped_unknown_peer, 1u);
    co_await a.transport.stop();
    EXPECT_FALSE(a.transport.send(append_message(1, 2, 3)));  // after stop: refused, nothing started
    co_await a.transport.stop();                               // idempotent
    co_return 0;
  });
}

TEST(PeerTransport, LargeSnapshotArrivesIntact) {
  run_on_runtime([]() -> runtime::task<int> {
    members all = start_members(2);
    constexpr size_t snapshot_bytes = size_t{32} << 20;
    raft::Message m = snapshot_message(snapshot_bytes);
    const uint64_t data_hash = XXH3_64bits(m.snapshot->data.data(), m.snapshot->data.size());
    EXPECT_TRUE(all[0]->transport.send(append_message(1, 2, 1)));
    EXPECT_TRUE(all[0]->transport.send(m));
    EXPECT_TRUE(all[0]->transport.send(append_message(1, 2, 2)));
    member& b = *all[1];
    EXPECT_TRUE(co_await eventually([&] { return b.received.size() == 3; }, 30s));
    // The snapshot travels on its own connection: the small messages are not held behind it.
    std::vector<raft::Message> small;
    const raft::Message* got_snapshot = nullptr;
    for (const raft::Message& got : b.received) {
      if (got.type == raft::MessageType::kSnapshot) {
        got_snapshot = &got;
      } else {
        small.push_back(got);
      }
    }
    EXPECT_EQ(small.size(), 2u);
    if (small.size() == 2) {
      EXPECT_EQ(small[0].index, 1u);
      EXPECT_EQ(small[1].index, 2u);
    }
    EXPECT_NE(got_snapshot, nullptr);
    if (got_snapshot) {
      const raft::Message& got = *got_snapshot;
      EXPECT_EQ(got.type, raft::MessageType::kSnapshot);
      EXPECT_EQ(got.snapshot->meta.index, 1000u);
      EXPECT_EQ(got.snapshot->data.size(), snapshot_bytes);
      EXPECT_EQ(XXH3_64bits(got.snapshot->data.data(), got.snapshot->data.size()), data_hash);
    }
    EXPECT_GE(all[0]->transport.stats().large_frame_chunks, 31u) << "the snapshot was not streamed in chunks";
    EXPECT_TRUE(co_await eventually([&] { return !all[0]->snapshot_reports.empty(); }));
    EXPECT_EQ(all[0]->snapshot_reports.size(), 1u);
    if (!all[0]->snapshot_reports.empty()) {
      EXPECT_EQ(all[0]->snapshot_reports[0], std::make_pair(raft::NodeId{2}, raft::SnapshotStatus::kFinished));
    }
    co_await stop_all(all);
    co_return 0;
  });
}

TEST(PeerTransport, LargeFramesBeyondTheInboundBudgetAreRejected) {
  run_on_runtime([]() -> runtime::task<int> {
    peer_limits limits = fast_limits();
    limits.inbound_large_frames_bytes_limit = 1 << 20;
    member b(2, test_cluster, limits);
    EXPECT_EQ(b.transport.start(), 0);
    member a(1);
    EXPECT_EQ(a.transport.start(), 0);
    a.transport.add_peer(2, b.transport.local());
    EXPECT_TRUE(a.transport.send(snapshot_message(512 * 1024)));  // within the budget
    EXPECT_TRUE(co_await eventually([&] { return b.received.size() == 1; }));
    EXPECT_TRUE(a.transport.send(snapshot_message(2 << 20)));     // over it
    EXPECT_TRUE(co_await eventually([&] { return b.transport.stats().rejected_over_budget == 1; }));
    EXPECT_EQ(b.received.size(), 1u);
    co_await a.transport.stop();
    co_await b.transport.stop();
    co_return 0;
  });
}

TEST(PeerTransport, AFrameThatStallsMidwayLosesItsConnectionAndFreesItsBudget) {
  run_on_runtime([]() -> runtime::task<int> {
    peer_limits limits = fast_limits();
    limits.inbound_large_frames_bytes_limit = 1 << 20;
    limits.inbound_pace = frame_pace{std::chrono::milliseconds(300), 1u << 20};
    member b(2, test_cluster, limits);
    EXPECT_EQ(b.transport.start(), 0);
    // 768 KiB announced (within the budget, above the read buffer), a third of it sent, then nothing:
    // without a deadline it would hold 3/4 of the budget for as long as the sender likes.
    std::vector<std::byte> stalled = flatten(make_frame({test_cluster, 1, 2}, raft::encode_message(snapshot_message(768 * 1024))));
    stalled.resize(stalled.size() / 3);
    EXPECT_TRUE(co_await closed_after(b.transport.local(), stalled)) << "closed at its deadline (~1 s), not held";
    EXPECT_EQ(b.transport.stats().rejected_too_slow, 1u);
    // The budget it held is free again: the same size from a real member arrives.
    member a(1);
    EXPECT_EQ(a.transport.start(), 0);
    a.transport.add_peer(2, b.transport.local());
    EXPECT_TRUE(a.transport.send(snapshot_message(768 * 1024)));
    EXPECT_TRUE(co_await eventually([&] { return b.received.size() == 1; }));
    EXPECT_EQ(b.transport.stats().rejected_over_budget, 0u);
    co_await a.transport.stop();
    co_await b.transport.stop();
    co_return 0;
  });
}

// Not a speed assertion: prints messages/s for one direction, 64-byte entries.
TEST(PeerTransport, ThroughputPrintout) {
  run_on_runtime([]() -> runtime::task<int> {
    members all = start_members(2);
    all[1]->keep_messages = false;  // measure the transport, not a growing vector of received messages
#ifdef __SANITIZE_ADDRESS__
    constexpr uint64_t total = 50000;  // ASan runs ~30x slower: keep the test short
#else
    constexpr uint64_t total = 200000;
#endif
    constexpr uint64_t burst = 256;  // like one raft turn's messages to one follower
    const auto began = std::chrono::steady_clock::now();
    uint64_t seq = 0;
    while (seq < total) {
      for (uint64_t i = 0; i < burst && seq < total; ++i) {
        if (all[0]->transport.send(append_message(1, 2, ++seq, 64))) continue;
        --seq;  // queue full: let the writer drain
        break;
      }
      co_await runtime::yield();
    }
    EXPECT_TRUE(co_await eventually([&] { return all[1]->received_count == total; }, 60s));
    EXPECT_EQ(all[1]->out_of_order, 0u);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    const peer_transport_stats& s = all[0]->transport.stats();
    std::printf("peer_transport: %llu messages (64-byte entry each) in %.3f s = %.0f messages/s, %.1f MB/s, "
                "%.1f messages per vectored write\n",
                static_cast<unsigned long long>(total), seconds, total / seconds, s.bytes_sent / seconds / 1e6,
                static_cast<double>(s.messages_sent) / static_cast<double>(s.vectored_writes));
    co_await stop_all(all);
    co_return 0;
  });
}

}  // namespace
}  // namespace ringkv::net::peer
