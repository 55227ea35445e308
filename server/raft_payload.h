// server/raft_payload.h — what one raft log entry carries: a proposal kind, the id of the request
// waiting for its result (0 when nobody waits, e.g. after a restart), and the request protobuf.
//
// On-disk/wire layout (little endian), versioned by the kind byte:
//   [u8 kind][u64 request_id][protobuf bytes of the etcdserverpb message for that kind]
// Replayed from the WAL on restart, so the layout must stay readable: add kinds, never renumber.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringkv::server {

enum class proposal_kind : uint8_t {
  put = 1,               // etcdserverpb.PutRequest
  delete_range = 2,      // etcdserverpb.DeleteRangeRequest
  txn = 3,               // etcdserverpb.TxnRequest
  compaction = 4,        // etcdserverpb.CompactionRequest
  lease_grant = 5,       // etcdserverpb.LeaseGrantRequest (ID already chosen by the proposer)
  lease_revoke = 6,      // etcdserverpb.LeaseRevokeRequest
  alarm = 7,             // etcdserverpb.AlarmRequest
  lease_checkpoint = 8,  // etcdserverpb.LeaseCheckpointRequest
};
inline constexpr uint8_t proposal_kind_max = 8;

using request_id_t = uint64_t;
inline constexpr size_t payload_header_bytes = 9;

struct decoded_payload {
  proposal_kind kind;
  request_id_t request_id;
  std::string_view message;  // protobuf bytes, a view into the entry
};

std::string encode_payload(proposal_kind kind, request_id_t request_id, std::string_view message);
// nullopt when the entry is too short or has an unknown kind (a bug or corruption: the caller decides).
std::optional<decoded_payload> decode_payload(std::string_view entry);

}  // namespace ringkv::server
