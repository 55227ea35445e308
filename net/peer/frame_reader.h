// Reads one peer frame (frame.h) from a connection and decodes its raft message, or says why the frame is
// unacceptable. Frames that fit the connection's read buffer are checked in place and their message copied
// once into its own block; larger ones (snapshots) are read straight into one block of their size, their
// header checked before that block is allocated.
#pragma once

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
  bad_prefix,      // body length out of range
  checksum,        // body does not match its checksum
  undecodable,     // the message is not a valid raft message
  wrong_cluster,   // header's cluster id is not ours
  removed_sender,  // header's sender was removed from the cluster
  misaddressed,    // header's receiver is not us, or header and message disagree on sender/receiver
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

// `in_place_bytes_max`: frames up to this total size are parsed inside the read buffer (must not exceed
// the connection's read_buffer_bytes).
runtime::task<frame_read> read_frame(connection& conn, const header_check& check, size_t in_place_bytes_max);

}  // namespace ringkv::net::peer
