// raft/codec.cc: flatbuffers encoding and validated, zero-copy decoding of raft messages.
#include "raft/codec.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "proto/fbs/raft_generated.h"

namespace ringkv::raft {
namespace {

namespace fb = ringkv::raft::fbs;

flatbuffers::Offset<fb::ConfState> encode_conf(flatbuffers::FlatBufferBuilder& builder, const ConfState& conf) {
  auto voters = builder.CreateVector(conf.voters);
  auto learners = builder.CreateVector(conf.learners);
  return fb::CreateConfState(builder, voters, learners);
}

flatbuffers::Offset<flatbuffers::Vector<uint8_t>> encode_bytes(flatbuffers::FlatBufferBuilder& builder,
                                                               const SharedBytes& bytes) {
  return builder.CreateVector(bytes.data(), bytes.size());
}

SharedBytes slice_of(const SharedBytes& frame, const flatbuffers::Vector<uint8_t>* bytes) {
  if (bytes == nullptr || bytes->size() == 0) return {};
  size_t offset = static_cast<size_t>(bytes->data() - frame.data());
  return frame.slice(offset, bytes->size());
}

// Debian 12's flatbuffers (2.0.8) verifies a vector's 4-byte length prefix, not the alignment of its 8-byte
// elements: a forged message can place them 4 bytes off (tests/fuzz/peer_frame_fuzz found it), so they are
// copied as bytes, never read as uint64_t lvalues (a misaligned load is undefined behaviour).
std::vector<NodeId> ids_of(const flatbuffers::Vector<uint64_t>* ids) {
  static_assert(std::endian::native == std::endian::little, "flatbuffers stores little-endian ids");
  if (ids == nullptr) return {};
  std::vector<NodeId> out(ids->size());
  if (!out.empty()) std::memcpy(out.data(), ids->Data(), out.size() * sizeof(uint64_t));
  return out;
}

bool sorted_unique(const std::vector<NodeId>& ids) {
  return std::adjacent_find(ids.begin(), ids.end(), std::greater_equal<NodeId>()) == ids.end() &&
         std::find(ids.begin(), ids.end(), kNoNode) == ids.end();
}

}  // namespace

void encode_message(const Message& m, flatbuffers::FlatBufferBuilder& builder) {
  builder.Clear();
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::Entry>>> entries;
  if (!m.entries.empty()) {
    std::vector<flatbuffers::Offset<fb::Entry>> offsets;
    offsets.reserve(m.entries.size());
    for (const Entry& e : m.entries) {
      auto data = encode_bytes(builder, e.data);
      offsets.push_back(fb::CreateEntry(builder, e.term, e.index, static_cast<uint8_t>(e.type), data));
    }
    entries = builder.CreateVector(offsets);
  }
  flatbuffers::Offset<fb::Snapshot> snapshot;
  if (m.snapshot) {
    auto conf = encode_conf(builder, m.snapshot->meta.conf);
    auto data = encode_bytes(builder, m.snapshot->data);
    snapshot = fb::CreateSnapshot(builder, m.snapshot->meta.index, m.snapshot->meta.term, conf, data);
  }
  auto root = fb::CreateMessage(builder, static_cast<uint8_t>(m.type), m.from, m.to, m.term, m.log_term, m.index,
                                m.commit, m.reject_hint, m.context, m.reject, entries, snapshot);
  fb::FinishMessageBuffer(builder, root);
}

SharedBytes encode_message(const Message& message) {
  flatbuffers::FlatBufferBuilder builder(256 + message.entries.size() * 64);
  encode_message(message, builder);
  return SharedBytes::copy_of(std::span<const uint8_t>(builder.GetBufferPointer(), builder.GetSize()));
}

std::string check_message(const Message& m) {
  if (static_cast<uint8_t>(m.type) >= kMessageTypeCount) return "unknown message type";
  if (m.from == kNoNode || m.to == kNoNode) return "message without sender or receiver";
  for (size_t i = 0; i < m.entries.size(); ++i) {
    const Entry& e = m.entries[i];
    if (static_cast<uint8_t>(e.type) > static_cast<uint8_t>(EntryType::kConfChange)) return "unknown entry type";
    if (m.type == MessageType::kAppend) {
      if (e.index != m.index + 1 + i) return "append entries are not contiguous after index";
      if (e.term < (i == 0 ? m.log_term : m.entries[i - 1].term)) return "append entry terms decrease";
      if (e.term > m.term) return "append entry term beyond the message term";
    }
  }
  if (!m.entries.empty() && m.type != MessageType::kAppend && m.type != MessageType::kPropose) {
    return "entries on a message type that carries none";
  }
  if ((m.type == MessageType::kSnapshot) != (m.snapshot != nullptr)) return "snapshot present iff kSnapshot";
  if (m.snapshot) {
    const ConfState& conf = m.snapshot->meta.conf;
    if (conf.voters.empty() || !sorted_unique(conf.voters) || !sorted_unique(conf.learners)) {
      return "snapshot membership is not a sorted, non-empty set of ids";
    }
    if (m.snapshot->meta.term > m.term) return "snapshot term beyond the message term";
  }
  return {};
}

std::optional<Message> decode_message(const SharedBytes& frame, std::string* error) {
  flatbuffers::Verifier verifier(frame.data(), frame.size());
  if (frame.size() < 8 || !fb::MessageBufferHasIdentifier(frame.data()) || !fb::VerifyMessageBuffer(verifier)) {
    *error = "raft message: not a valid flatbuffer";
    return std::nullopt;
  }
  const fb::Message* in = fb::GetMessage(frame.data());
  Message m;
  m.type = static_cast<MessageType>(in->type());
  m.from = in->from();
  m.to = in->to();
  m.term = in->term();
  m.log_term = in->log_term();
  m.index = in->index();
  m.commit = in->commit();
  m.reject_hint = in->reject_hint();
  m.context = in->context();
  m.reject = in->reject();
  if (const auto* entries = in->entries()) {
    m.entries.reserve(entries->size());
    for (const fb::Entry* e : *entries) {
      m.entries.push_back(Entry{e->term(), e->index(), static_cast<EntryType>(e->type()), slice_of(frame, e->data())});
    }
  }
  if (const fb::Snapshot* s = in->snapshot()) {
    auto snapshot = std::make_shared<Snapshot>();
    snapshot->meta.index = s->index();
    snapshot->meta.term = s->term();
    if (s->conf()) {
      snapshot->meta.conf.voters = ids_of(s->conf()->voters());
      snapshot->meta.conf.learners = ids_of(s->conf()->learners());
    }
    snapshot->data = slice_of(frame, s->data());
    m.snapshot = std::move(snapshot);
  }
  std::string problem = check_message(m);
  if (!problem.empty()) {
    *error = "raft message: " + problem;
    return std::nullopt;
  }
  return m;
}

}  // namespace ringkv::raft
