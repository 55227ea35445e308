// tests/raft/codec_test.cc: raft messages and membership changes survive encoding, and malformed bytes
// are rejected with a reason instead of reaching raft.
#include <gtest/gtest.h>

#include <flatbuffers/flatbuffers.h>

#include "proto/fbs/raft_generated.h"
#include "raft/codec.h"
#include "raft/conf_change.h"

namespace ringkv::raft {
namespace {

Message sample_append() {
  Message m;
  m.type = MessageType::kAppend;
  m.from = 1;
  m.to = 2;
  m.term = 7;
  m.log_term = 6;
  m.index = 41;
  m.commit = 40;
  m.context = 99;
  SharedBytes block = SharedBytes::copy_of(std::string_view("helloworld"));
  m.entries.push_back({6, 42, EntryType::kNormal, block.slice(0, 5)});
  m.entries.push_back({7, 43, EntryType::kNormal, block.slice(5, 5)});
  m.entries.push_back({7, 44, EntryType::kConfChange, encode_conf_change({ConfChangeType::kAddLearner, {9}})});
  return m;
}

// Adopted bytes (a mapped snapshot file): readable through every copy and slice, released exactly
// once, when the last of them goes.
TEST(SharedBytes, AdoptedBytesAreReleasedOnceWithTheLastReference) {
  static const uint8_t owned[] = {'s', 'n', 'a', 'p', 's', 'h', 'o', 't'};
  int released = 0;
  SharedBytes slice;
  {
    SharedBytes whole = SharedBytes::adopt(owned, sizeof owned, [&released] { ++released; });
    EXPECT_EQ(whole.view(), "snapshot");
    EXPECT_TRUE(whole.sole_reference());
    slice = whole.slice(4, 4);
    EXPECT_FALSE(whole.sole_reference());
    SharedBytes copy = whole;
  }
  EXPECT_EQ(released, 0);
  EXPECT_EQ(slice.view(), "shot");
  EXPECT_EQ(slice.data(), owned + 4);  // no copy made
  slice = SharedBytes();
  EXPECT_EQ(released, 1);
}

TEST(Codec, AppendRoundTripsWithZeroCopyPayloads) {
  SharedBytes frame = encode_message(sample_append());
  std::string error;
  std::optional<Message> decoded = decode_message(frame, &error);
  ASSERT_TRUE(decoded) << error;
  EXPECT_EQ(decoded->type, MessageType::kAppend);
  EXPECT_EQ(decoded->from, 1u);
  EXPECT_EQ(decoded->to, 2u);
  EXPECT_EQ(decoded->term, 7u);
  EXPECT_EQ(decoded->log_term, 6u);
  EXPECT_EQ(decoded->index, 41u);
  EXPECT_EQ(decoded->commit, 40u);
  EXPECT_EQ(decoded->context, 99u);
  ASSERT_EQ(decoded->entries.size(), 3u);
  EXPECT_EQ(decoded->entries[0].data.view(), "hello");
  EXPECT_EQ(decoded->entries[1].data.view(), "world");
  EXPECT_EQ(decoded->entries[1].index, 43u);
  EXPECT_EQ(decoded->entries[2].type, EntryType::kConfChange);
  // Payloads point into the frame: no copy per entry.
  EXPECT_GE(decoded->entries[0].data.data(), frame.data());
  EXPECT_LT(decoded->entries[0].data.data(), frame.data() + frame.size());
}

TEST(Codec, SnapshotAndResponsesRoundTrip) {
  Message m;
  m.type = MessageType::kSnapshot;
  m.from = 3;
  m.to = 1;
  m.term = 4;
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->meta = {100, 4, {{1, 2, 3}, {5}}};
  snapshot->data = SharedBytes::copy_of(std::string_view("state"));
  m.snapshot = snapshot;
  std::string error;
  std::optional<Message> decoded = decode_message(encode_message(m), &error);
  ASSERT_TRUE(decoded) << error;
  ASSERT_TRUE(decoded->snapshot);
  EXPECT_EQ(decoded->snapshot->meta.index, 100u);
  EXPECT_EQ(decoded->snapshot->meta.term, 4u);
  EXPECT_EQ(decoded->snapshot->meta.conf.voters, (std::vector<NodeId>{1, 2, 3}));
  EXPECT_EQ(decoded->snapshot->meta.conf.learners, std::vector<NodeId>{5});
  EXPECT_EQ(decoded->snapshot->data.view(), "state");

  Message reject;
  reject.type = MessageType::kAppendResponse;
  reject.from = 2;
  reject.to = 1;
  reject.term = 9;
  reject.reject = true;
  reject.reject_hint = 17;
  decoded = decode_message(encode_message(reject), &error);
  ASSERT_TRUE(decoded) << error;
  EXPECT_TRUE(decoded->reject);
  EXPECT_EQ(decoded->reject_hint, 17u);
}

TEST(Codec, GarbageAndTruncatedFramesAreRejected) {
  std::string error;
  EXPECT_FALSE(decode_message(SharedBytes::copy_of(std::string_view("not a flatbuffer at all")), &error));
  EXPECT_NE(error.find("not a valid flatbuffer"), std::string::npos);
  SharedBytes frame = encode_message(sample_append());
  for (size_t length : {size_t{0}, size_t{4}, frame.size() / 4, frame.size() / 2}) {
    EXPECT_FALSE(decode_message(frame.slice(0, length), &error)) << "length " << length;
  }
  SharedBytes corrupted = SharedBytes::copy_of(frame.span());
  corrupted.mutable_data()[0] ^= 0xff;  // root offset now points outside the buffer
  EXPECT_FALSE(decode_message(corrupted, &error));
}

TEST(Codec, StructurallyInvalidMessagesAreRejected) {
  std::string error;
  Message gap = sample_append();
  gap.entries[1].index = 50;
  EXPECT_FALSE(decode_message(encode_message(gap), &error));
  EXPECT_NE(error.find("contiguous"), std::string::npos);

  Message unknown = sample_append();
  unknown.type = static_cast<MessageType>(200);
  EXPECT_FALSE(decode_message(encode_message(unknown), &error));

  Message no_snapshot;
  no_snapshot.type = MessageType::kSnapshot;
  no_snapshot.from = 1;
  no_snapshot.to = 2;
  EXPECT_FALSE(decode_message(encode_message(no_snapshot), &error));

  Message anonymous = sample_append();
  anonymous.from = kNoNode;
  EXPECT_FALSE(decode_message(encode_message(anonymous), &error));

  Message future_entry = sample_append();
  future_entry.entries[2].term = 8;  // beyond the message's term
  EXPECT_FALSE(decode_message(encode_message(future_entry), &error));
}

TEST(ConfChangeCodec, RoundTripsAndRejectsMalformedPayloads) {
  ConfChange change{ConfChangeType::kRemoveNode, {42}};
  std::optional<ConfChange> decoded = decode_conf_change(encode_conf_change(change).span());
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->type, ConfChangeType::kRemoveNode);
  EXPECT_EQ(decoded->node_ids, std::vector<NodeId>{42});

  SharedBytes bytes = encode_conf_change(change);
  EXPECT_FALSE(decode_conf_change(bytes.span().first(bytes.size() - 1)));
  EXPECT_FALSE(decode_conf_change(encode_conf_change({ConfChangeType::kAddVoter, {1, 2}}).span()));
  EXPECT_FALSE(decode_conf_change(encode_conf_change({ConfChangeType::kAddVoter, {0}}).span()));
  SharedBytes bad_type = SharedBytes::copy_of(bytes.span());
  bad_type.mutable_data()[0] = 77;
  EXPECT_FALSE(decode_conf_change(bad_type.span()));
}

TEST(ConfChangeCodec, ApplyingChangesKeepsVotersAndLearnersDisjoint) {
  ConfState conf{{1, 2, 3}, {}};
  conf = apply_conf_change(conf, {ConfChangeType::kAddLearner, {4}});
  EXPECT_EQ(conf.learners, std::vector<NodeId>{4});
  conf = apply_conf_change(conf, {ConfChangeType::kAddVoter, {4}});
  EXPECT_EQ(conf.voters, (std::vector<NodeId>{1, 2, 3, 4}));
  EXPECT_TRUE(conf.learners.empty());
  conf = apply_conf_change(conf, {ConfChangeType::kAddLearner, {4}});
  EXPECT_TRUE(conf.learners.empty()) << "a voter is never demoted by AddLearner";
  conf = apply_conf_change(conf, {ConfChangeType::kRemoveNode, {2}});
  EXPECT_EQ(conf.voters, (std::vector<NodeId>{1, 3, 4}));
  ConfState single{{1}, {}};
  EXPECT_EQ(apply_conf_change(single, {ConfChangeType::kRemoveNode, {1}}).voters, std::vector<NodeId>{1});
}

// tests/fuzz/peer_frame_fuzz found it: a forged message whose snapshot voters (a vector of u64) sit 4 bytes
// off their alignment passed flatbuffers' verifier and was read with misaligned loads (undefined
// behaviour; the sanitizer pass of scripts/test.sh stops on it). Now read as bytes, then refused for its
// missing sender, like any other malformed message.
TEST(Codec, MisalignedIdVectorIsReadWithoutMisalignedLoads) {
  static const uint8_t forged[] = {
      0x24, 0x00, 0x00, 0x00, 0x52, 0x4b, 0x52, 0x4d, 0x1c, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x14, 0x00, 0x1c, 0x00, 0x24, 0x00, 0x00, 0x00,
      0x04, 0x00, 0x08, 0x00, 0x1c, 0x00, 0x00, 0x00, 0x7c, 0x00, 0x00, 0x00, 0x30, 0x00, 0x00, 0x00,
      0x00, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x24, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x0c, 0x00, 0x18, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x04, 0x00, 0x08, 0x00, 0x0c, 0x00, 0x00, 0x00,
      0x20, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0xff, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x0c, 0x00, 0x04, 0x00, 0x08, 0x00,
      0x08, 0x00, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x1c, 0x00,
      0x08, 0x00, 0x10, 0x00, 0x00, 0x00, 0x04, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x18, 0x00, 0x00, 0x00,
      0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  };
  std::string error;
  EXPECT_FALSE(decode_message(SharedBytes::copy_of(std::span<const uint8_t>(forged, sizeof forged)), &error));
  EXPECT_EQ(error, "raft message: message without sender or receiver");
}

}  // namespace
}  // namespace ringkv::raft
