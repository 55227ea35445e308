// raft/codec.h: raft Message <-> flatbuffers bytes (schema: proto/fbs/raft.fbs).
// Decoding is zero-copy for payloads: entry and snapshot data are slices of the input frame. Anything
// malformed (bad flatbuffer, unknown type, entries that are not contiguous, a snapshot message without a
// snapshot, invalid membership) is rejected with a reason, never trusted.
#pragma once

#include <optional>
#include <string>

#include "raft/shared_bytes.h"
#include "raft/types.h"

namespace flatbuffers {
class FlatBufferBuilder;
}  // namespace flatbuffers

namespace ringkv::raft {

// Encodes `message` into `builder` (which is Clear()ed first and Finish()ed).
void encode_message(const Message& message, flatbuffers::FlatBufferBuilder& builder);
// Convenience: a fresh buffer holding the encoding.
SharedBytes encode_message(const Message& message);

// Decodes a frame produced by encode_message; nullopt (and `error` set) if malformed.
std::optional<Message> decode_message(const SharedBytes& frame, std::string* error);

// Structural checks a decoded message must pass before step() sees it; empty if fine.
std::string check_message(const Message& message);

}  // namespace ringkv::raft
