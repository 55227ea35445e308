// The peer wire format: one frame per raft message, little-endian.
//
//   offset  size  field
//   0       4     body_bytes      bytes of the body that follows the 12-byte prefix
//   4       8     body_checksum   XXH3_64bits(body)
//   12      8     cluster_id      body starts here: header ...
//   20      8     from            sending member id
//   28      8     to              receiving member id
//   36      n     message         one raft message flatbuffer (raft/codec.h), n = body_bytes - 24
//
// A sender writes many frames to one peer in one vectored write; a large frame (a snapshot) is written
// in chunks.
//
// Two frames are not raft messages:
//   - members query: header {cluster 0, from 0, to 0}, empty message. Sent by a member joining a running
//     cluster to any member's peer port; the answer is one frame {cluster id, answering member, 0} whose
//     message is the server's member list (opaque here), then the connection closes.
//   - removed notice: {cluster id, from, to = the removed member}, message `removed_notice_message`,
//     written back on a connection whose frames came from a removed member, before closing it.
// A receiver closes the connection on a bad frame: checksum mismatch, body shorter than the
// header or longer than the named maximum, a message that does not decode, or a header whose cluster id,
// sender or receiver it does not accept. Pure code: no I/O.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "raft/shared_bytes.h"
#include "raft/types.h"

namespace ringkv::net::peer {

inline constexpr size_t frame_prefix_bytes = 12;                 // body_bytes + body_checksum
inline constexpr size_t frame_header_bytes = 24;                 // cluster_id + from + to
inline constexpr size_t frame_lead_bytes = frame_prefix_bytes + frame_header_bytes;
// The largest message a frame carries (a whole snapshot travels in one kSnapshot message).
inline constexpr size_t frame_message_bytes_max = size_t{512} << 20;
inline constexpr size_t frame_body_bytes_max = frame_header_bytes + frame_message_bytes_max;

struct frame_header {
  uint64_t cluster_id = 0;
  raft::NodeId from = raft::kNoNode;
  raft::NodeId to = raft::kNoNode;
  bool operator==(const frame_header&) const = default;
};

struct frame_prefix {
  uint32_t body_bytes = 0;
  uint64_t body_checksum = 0;
};

// One encoded outbound frame: the 36 lead bytes (prefix + header) and the message flatbuffer.
struct encoded_frame {
  std::array<std::byte, frame_lead_bytes> lead{};
  raft::SharedBytes message;
  size_t size() const { return lead.size() + message.size(); }
};

inline constexpr std::string_view removed_notice_message = "ringkv: member removed from the cluster";

// Frames `message` (a flatbuffer from raft::encode_message). It must be at most frame_message_bytes_max.
encoded_frame make_frame(const frame_header& header, raft::SharedBytes message);

frame_prefix parse_prefix(std::span<const std::byte, frame_prefix_bytes> bytes);
frame_header parse_header(std::span<const std::byte, frame_header_bytes> bytes);

// XXH3 of header bytes followed by message bytes (the body, given in two parts).
uint64_t body_checksum(std::span<const std::byte> header, std::span<const uint8_t> message);

// Why a prefix is unacceptable before any body is read; empty if fine.
std::string check_prefix(const frame_prefix& prefix);

}  // namespace ringkv::net::peer
