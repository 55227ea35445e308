// libFuzzer target: the peer frame decoder (net/peer/frame + raft/codec) on bytes from anyone who can
// reach a peer port, in read_frame's order: prefix and its limits, checksum, header, raft message
// decode and structural checks, header and message agreeing on sender and receiver.
// Byte 0 picks the mode:
//   bit 0  the rest is a raw frame stream; with bit 1 each frame's checksum is fixed up first, so the
//          fuzzer reaches the flatbuffer decoder instead of stopping at the checksum;
//   bit 2  the rest describes a raft message (fields, entries, a snapshot) that is encoded with
//          raft::encode_message and framed, then one byte of the frame is XORed: near-valid frames.
// Every decoded message must survive encode -> decode -> encode with identical bytes.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "net/peer/frame.h"
#include "raft/codec.h"

namespace {

using namespace ringkv;
using namespace ringkv::net::peer;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

struct input_reader {
  const uint8_t* data;
  size_t size;
  size_t at = 0;
  uint64_t take(size_t bytes) {
    uint64_t v = 0;
    for (size_t i = 0; i < bytes && at < size; ++i) v |= uint64_t{data[at++]} << (8 * i);
    return v;
  }
  std::string rest(size_t max) {
    size_t n = std::min(max, size - at);
    std::string s(reinterpret_cast<const char*>(data + at), n);
    at += n;
    return s;
  }
};

// One frame's body after its prefix checked and its checksum verified.
void decode_body(std::span<const std::byte> body) {
  const frame_header header = parse_header(body.first<frame_header_bytes>());
  const std::span<const std::byte> message = body.subspan(frame_header_bytes);
  raft::SharedBytes block = raft::SharedBytes::copy_of(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(message.data()), message.size()));
  std::string error;
  std::optional<raft::Message> decoded = raft::decode_message(block, &error);
  if (!decoded) {
    check(!error.empty());
    return;
  }
  check(raft::check_message(*decoded).empty());
  (void)(decoded->from == header.from && decoded->to == header.to);  // read_frame's misaddressed test
  const raft::SharedBytes again = raft::encode_message(*decoded);
  std::optional<raft::Message> redecoded = raft::decode_message(again, &error);
  check(redecoded.has_value());
  const raft::SharedBytes third = raft::encode_message(*redecoded);
  check(again.size() == third.size() && std::memcmp(again.data(), third.data(), again.size()) == 0);
}

void decode_stream(std::vector<std::byte> stream, bool fix_checksums) {
  size_t at = 0;
  while (stream.size() - at >= frame_prefix_bytes) {
    const frame_prefix prefix = parse_prefix(std::span<const std::byte>(stream).subspan(at).first<frame_prefix_bytes>());
    if (!check_prefix(prefix).empty()) return;  // read_frame closes the connection
    check(prefix.body_bytes >= frame_header_bytes && prefix.body_bytes <= frame_body_bytes_max);
    if (stream.size() - at - frame_prefix_bytes < prefix.body_bytes) return;  // waits for more bytes
    std::span<std::byte> body(stream.data() + at + frame_prefix_bytes, prefix.body_bytes);
    const auto message = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(body.data()) + frame_header_bytes,
                                                  body.size() - frame_header_bytes);
    const uint64_t sum = body_checksum(body.first(frame_header_bytes), message);
    if (fix_checksums) {
      for (int i = 0; i < 8; ++i) stream[at + 4 + i] = std::byte(uint8_t(sum >> (8 * i)));
    } else if (sum != prefix.body_checksum) {
      return;
    }
    decode_body(body);
    at += frame_prefix_bytes + prefix.body_bytes;
  }
}

raft::Message message_from(input_reader& in) {
  raft::Message m;
  m.type = static_cast<raft::MessageType>(in.take(1) % (raft::kMessageTypeCount + 1));
  m.from = in.take(1) % 4;
  m.to = in.take(1) % 4;
  m.term = in.take(1) % 2 ? in.take(8) : in.take(1);
  m.log_term = in.take(1);
  m.index = in.take(2);
  m.commit = in.take(2);
  m.reject_hint = in.take(2);
  m.context = in.take(1);
  m.reject = in.take(1) & 1;
  const size_t entries = in.take(1) % 5;
  for (size_t i = 0; i < entries; ++i) {
    raft::Entry e;
    e.term = in.take(1);
    e.index = m.index + 1 + (in.take(1) % 4 == 0 ? 7 : i);
    e.type = static_cast<raft::EntryType>(in.take(1) % 3);
    e.data = raft::SharedBytes::copy_of(in.rest(in.take(1) % 32));
    m.entries.push_back(std::move(e));
  }
  if (in.take(1) % 2) {
    auto snapshot = std::make_shared<raft::Snapshot>();
    snapshot->meta.index = in.take(2);
    snapshot->meta.term = in.take(1);
    for (size_t i = in.take(1) % 4; i > 0; --i) snapshot->meta.conf.voters.push_back(in.take(1) % 5);
    for (size_t i = in.take(1) % 3; i > 0; --i) snapshot->meta.conf.learners.push_back(in.take(1) % 5);
    snapshot->data = raft::SharedBytes::copy_of(in.rest(in.take(1) % 64));
    m.snapshot = std::move(snapshot);
  }
  return m;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  input_reader in{data + 1, size - 1};
  if (mode & 4) {
    const raft::Message m = message_from(in);
    const frame_header header{in.take(1), m.from, m.to};
    const encoded_frame frame = make_frame(header, raft::encode_message(m));
    std::vector<std::byte> stream(frame.lead.begin(), frame.lead.end());
    const auto* message = reinterpret_cast<const std::byte*>(frame.message.data());
    stream.insert(stream.end(), message, message + frame.message.size());
    const size_t flip_at = in.take(2) % stream.size();
    stream[flip_at] ^= std::byte(uint8_t(in.take(1)));
    decode_stream(std::move(stream), /*fix_checksums=*/(mode & 2) != 0);
    return 0;
  }
  const auto* bytes = reinterpret_cast<const std::byte*>(data + 1);
  decode_stream(std::vector<std::byte>(bytes, bytes + size - 1), (mode & 2) != 0);
  return 0;
}
