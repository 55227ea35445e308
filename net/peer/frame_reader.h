// Reads one peer frame (frame.h) from a connection and decodes its raft message, or says why the frame is
// unacceptable. Frames that fit the connection's read buffer are checked in place and their message copied
// once into its own block; larger ones (snapshots) are read straight into one block of their size, their
// header checked before that block is allocated.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

#include "net/peer/frame.h"
#include "net/tcp/connection.h"
#include "raft/types.h"
#include "runtime/task.h"

namespace ringkv::net::peer {

enum class frame_fault {
  none,
  closed,          // the peer closed between frames (normal end)
  io_error,        // receive failed, or the peer closed in the middle of a frame
  too_slow,        // a frame's rest did not arrive within its frame_pace deadline
  bad_prefix,      // body length out of range
  checksum,        // body does not match its checksum
  undecodable,     // the message is not a valid raft message
  wrong_cluster,   // header's cluster id is not ours
  removed_sender,  // header's sender was removed from the cluster
  misaddressed,    // header's receiver is not us, or header and message disagree on sender/receiver
  over_budget,     // a large frame would exceed the bytes that large frames being received may hold
  members_query,   // header all zero: a member joining the cluster asks for the member list (frame.h)
};
const char* fault_name(frame_fault fault);

struct frame_read {
  frame_fault fault = frame_fault::none;
  std::string detail;      // human-readable reason when fault != none
  frame_header header;
  raft::Message message;   // valid when fault == none
};

// Decides whether a frame's header is acceptable (frame_fault::none) before its message is decoded.
using header_check = std::function<frame_fault(const frame_header&)>;

// Memory that large frames may hold while they are being received, over all connections sharing it
// (without it, N peers each announcing a 512 MiB frame would make us allocate N x 512 MiB).
struct large_frame_budget {
  size_t bytes_limit = 0;
  size_t bytes_in_use = 0;  // invariant: bytes_in_use <= bytes_limit
};

// How fast a frame must arrive once its prefix has: within grace + body_bytes / min_bytes_per_s. A peer
// that stalls mid-frame (or trickles a snapshot) loses its connection, and the memory its frame held.
// Between frames a connection may stay idle as long as it likes (raft's own timers judge peers).
struct frame_pace {
  std::chrono::milliseconds grace{5000};
  uint64_t min_bytes_per_s = 1u << 20;
  std::chrono::milliseconds deadline_for(size_t body_bytes) const {
    return grace + std::chrono::milliseconds(body_bytes * 1000 / min_bytes_per_s);
  }
};

// `in_place_bytes_max`: frames up to this total size are parsed inside the read buffer (must not exceed
// the connection's read_buffer_bytes); larger ones are received only within `budget`.
runtime::task<frame_read> read_frame(connection& conn, const header_check& check, size_t in_place_bytes_max,
                                     large_frame_budget& budget, const frame_pace& pace);

}  // namespace ringkv::net::peer
