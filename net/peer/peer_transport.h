// peer_transport: raft messages between cluster members over TCP (frame format in frame.h).
//
// One transport per member, living on ONE shard (the raft shard): every method is called there, every
// callback runs there, and the raft::SharedBytes inside messages stay on that shard.
//
//   raft loop                      peer_transport                              member B
//   send(m to B) --encode+frame--> B's outbound queue (bounded) --+
//   send(m' to B) ---------------> ...                            |  writer of B (one coroutine):
//                                                                 +- connect (timeout), then each turn
//                                                                    takes every queued frame up to a
//                                                                    batch limit -> ONE writev -------> B
//   on_message(m) <-- decode <---- inbound listener <-------------- frames from any member
//
// Outbound: per peer, one connection for raft messages and a second one for kSnapshot messages (a snapshot
// of hundreds of MiB must not hold back heartbeats and appends behind it; raft does not need the two kinds
// ordered against each other). Each is opened on demand and re-opened after a failure with exponential
// backoff (reconnect_delay_initial .. reconnect_delay_max). send() never waits: it encodes the message
// and queues the frame. When the peer's queue is full (queue_messages_limit / queue_bytes_limit; a single
// frame larger than the byte limit is still taken into an empty queue) the message is dropped, counted,
// and on_unreachable(peer) is called - the server forwards that to raft::Node::report_unreachable, as it
// does for failed connects and lost connections. Callbacks never run inside send() (drops are reported
// at the next loop turn), so the caller may send while it iterates raft's ready(). Frames queued while a peer is down are sent once it is
// reachable. A kSnapshot message's outcome is reported through on_snapshot_status (kFinished once its
// bytes are handed to the kernel; kFailed if it was dropped or its connection failed). Frames larger than
// stream_chunk_bytes are written in chunks of that size (the connection's send buffer stays bounded).
//
// Inbound: every accepted connection is read frame by frame; a decoded message goes to on_message. A frame
// that fails its checksum, does not decode, carries another cluster id, comes from a removed member
// (mark_removed), is not addressed to this member or names another sender than the connection's first
// frame did closes that connection; the reason is counted in
// stats(). So does a frame above the inbound read buffer that would take the memory held by frames being
// received past inbound_large_frames_bytes_limit.
//
// TLS (optional, peer_tls_setup): an https listen URL gives every accepted connection a bounded server
// handshake first (client certificate, CN / host name checks as the context says; a refused one is logged
// as etcd's "rejected connection" and closed before a byte of it is read as a frame); a peer added with a
// TLS host name (an https peer URL) is dialed with a client handshake that verifies the listener's
// certificate for that host. The contexts are re-made when their files change (reloading_context.h):
// new connections get the new certificate, open ones keep theirs.
//
// Order: non-snapshot messages to one peer leave in send() order over one connection (snapshots, in
// send() order too, over the other); if that connection fails, the
// frames in flight on it are lost (raft retransmits), never reordered.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "net/peer/frame.h"
#include "net/peer/frame_reader.h"
#include "net/tcp/connection.h"
#include "net/tcp/endpoint.h"
#include "net/tcp/listener.h"
#include "net/tls/reloading_context.h"
#include "net/tls/tls_handshake.h"
#include "raft/node.h"
#include "raft/types.h"
#include "runtime/task.h"
#include "runtime/when_all.h"

namespace flatbuffers {
class FlatBufferBuilder;
}  // namespace flatbuffers

namespace ringkv::net::peer {

struct peer_limits {
  size_t queue_messages_limit = 8192;                 // frames queued per peer before send() drops
  size_t queue_bytes_limit = size_t{64} << 20;        // bytes queued per peer before send() drops
  size_t batch_messages_max = 256;                    // frames coalesced into one vectored write
  size_t batch_bytes_limit = 256 * 1024;              // bytes coalesced into one vectored write
  size_t stream_chunk_bytes = size_t{1} << 20;        // larger frames are written in chunks of this
  size_t inbound_large_frames_bytes_limit = size_t{1} << 30;  // held by frames above the inbound read
                                                               // buffer while they arrive, all peers
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds unacked_send_timeout{10000};  // TCP_USER_TIMEOUT: a peer that acknowledges
                                                          // nothing this long has its connection dropped
  std::chrono::milliseconds reconnect_delay_initial{25};
  std::chrono::milliseconds reconnect_delay_max{2000};  // backoff doubles up to this
  connection_limits outbound{4 * 1024, 512 * 1024};   // read buffer (only watches for the peer closing),
                                                      // send buffer
  connection_limits inbound{256 * 1024, 64 * 1024};   // read buffer: frames up to this are parsed in place
  frame_pace inbound_pace;  // a frame begun must arrive within grace + bytes at this least rate
};

// TLS between members. A null context leaves that side plaintext (an http listen URL; no https peers).
struct peer_tls_setup {
  tls::tls_material accepting;  // the listener's side of inbound connections
  tls::tls_material dialing;    // the connecting side of outbound connections (settings.dialing set)
  tls::handshake_limits limits;
};

struct peer_transport_config {
  uint64_t cluster_id = 0;
  raft::NodeId local_id = raft::kNoNode;
  endpoint listen = endpoint::loopback_v4(0);  // port 0: a free port (see local())
  peer_limits limits;
  std::optional<peer_tls_setup> tls;  // unset: plaintext both ways
};

// Callbacks run on the transport's shard and must not throw.
struct peer_callbacks {
  std::function<void(raft::Message&&)> on_message;                             // required
  std::function<void(raft::NodeId peer)> on_unreachable;                       // optional
  std::function<void(raft::NodeId peer, raft::SnapshotStatus)> on_snapshot_status;  // optional
  // A joining member's members query (frame.h): the answer's message bytes. Unset: the query is refused.
  std::function<std::string()> on_members_query;
  // A peer told us (removed notice, frame.h) that this member was removed from the cluster. Optional.
  std::function<void()> on_removed;
};

struct peer_transport_stats {
  uint64_t messages_sent = 0;         // handed to the kernel
  uint64_t bytes_sent = 0;
  uint64_t vectored_writes = 0;       // writes that carried messages_sent (coalescing = messages / writes)
  uint64_t dropped_queue_full = 0;
  uint64_t dropped_unknown_peer = 0;
  uint64_t dropped_too_large = 0;
  uint64_t lost_on_failed_connection = 0;
  uint64_t large_frame_chunks = 0;    // chunk writes of frames above stream_chunk_bytes
  uint64_t connects = 0;
  uint64_t connect_failures = 0;
  uint64_t messages_received = 0;
  uint64_t connections_accepted = 0;
  uint64_t rejected_checksum = 0;
  uint64_t rejected_bad_prefix = 0;
  uint64_t rejected_undecodable = 0;
  uint64_t rejected_wrong_cluster = 0;
  uint64_t rejected_removed_sender = 0;
  uint64_t rejected_misaddressed = 0;
  uint64_t rejected_over_budget = 0;
  uint64_t rejected_too_slow = 0;      // a frame's rest did not arrive within peer_limits::inbound_pace
  uint64_t inbound_io_errors = 0;
  uint64_t members_queries = 0;        // answered
  uint64_t removed_notices_sent = 0;
  uint64_t tls_rejected = 0;           // inbound handshakes refused (certificate, CN, not TLS, timeout)
  uint64_t tls_dial_failures = 0;      // outbound handshakes that failed
};

class peer_transport {
 public:
  peer_transport(peer_transport_config config, peer_callbacks callbacks);
  ~peer_transport();  // stop() must have been awaited if start() succeeded
  peer_transport(const peer_transport&) = delete;
  peer_transport& operator=(const peer_transport&) = delete;

  // Binds the listener and starts accepting. 0, or -errno (e.g. -EADDRINUSE).
  int start();
  const endpoint& local() const;

  // Starts (or re-targets) the outbound path to `peer`. A peer id equal to local_id is refused (asserted).
  // `tls_host` non-empty: dial with TLS and verify the certificate for that host (an https peer URL's).
  void add_peer(raft::NodeId peer, endpoint address, std::string tls_host = {});
  // Stops sending to `peer`: its connection is closed and its queue dropped.
  void remove_peer(raft::NodeId peer);
  // `peer` left the cluster: remove_peer, and from now on its frames are rejected.
  void mark_removed(raft::NodeId peer);
  bool has_peer(raft::NodeId peer) const;

  // Queues `message` for message.to. True if queued; false if dropped (unknown peer, queue full, too
  // large) - on_unreachable(message.to) has then been called. Never waits.
  bool send(const raft::Message& message);

  size_t queued_messages(raft::NodeId peer) const;
  size_t queued_bytes(raft::NodeId peer) const;
  const peer_transport_stats& stats() const { return stats_; }
  const peer_limits& limits() const { return config_.limits; }

  // Closes the listener, every inbound and outbound connection, and waits for all of the transport's
  // coroutines. Queued frames are dropped. Idempotent.
  runtime::task<void> stop();

  struct peer_link;  // one outbound lane (queue, writer, connection); defined in peer_transport.cc
  struct peer_lanes {
    std::shared_ptr<peer_link> messages;
    std::shared_ptr<peer_link> snapshots;
  };

 private:
  frame_fault check_header(const frame_header& header) const;
  runtime::task<void> serve_inbound(connection conn);
  // The accepting side's TLS handshake (when the listener is TLS). False: refused, logged, counted.
  runtime::task<bool> secure_inbound(connection& conn);
  // The dialing side's TLS handshake (when the link is TLS): "" or why it failed.
  runtime::task<std::string> secure_outbound(peer_link& link, connection& conn);
  runtime::task<void> run_peer(std::shared_ptr<peer_link> link);
  // Logs the message lane's "peer became active" / "peer became inactive" (with why) on a change only.
  void note_activity(peer_link& link, bool active, std::string_view error);
  runtime::task<void> run_connection(peer_link& link, connection& conn);
  runtime::task<void> write_loop(peer_link& link, connection& conn);
  runtime::task<void> watch_loop(peer_link& link, connection& conn);
  runtime::task<int> write_batch(peer_link& link, connection& conn);
  runtime::task<void> answer_members_query(connection& conn);
  runtime::task<void> send_removed_notice(connection& conn, raft::NodeId removed);
  bool is_removed_notice(peer_link& link, connection& conn);
  void count_fault(frame_fault fault);
  void report_unreachable(raft::NodeId peer);
  void report_snapshot(raft::NodeId peer, raft::SnapshotStatus status);
  void stop_link(peer_link& link);
  void stop_lanes(peer_lanes& lanes);
  void defer_drop_report(raft::NodeId peer, bool snapshot);
  raft::SharedBytes encode(const raft::Message& message);

  peer_transport_config config_;
  peer_callbacks callbacks_;
  peer_transport_stats stats_;
  std::unique_ptr<flatbuffers::FlatBufferBuilder> builder_;  // reused for every message but snapshots
  std::optional<listener> listener_;  // optional: listener's default constructor is unusable here
  bool started_ = false;
  bool stopping_ = false;
  std::unordered_map<raft::NodeId, peer_lanes> peers_;
  std::unordered_set<raft::NodeId> removed_;
  std::vector<raft::NodeId> drops_unreported_;             // peers with drops not yet reported
  std::vector<raft::NodeId> snapshot_failures_unreported_;  // dropped snapshots not yet reported
  bool drop_report_scheduled_ = false;
  large_frame_budget large_frames_;
  std::optional<tls::reloading_context> accepting_tls_;  // set: the listener is TLS
  std::optional<tls::reloading_context> dialing_tls_;    // set: https peers can be dialed
  std::optional<tls::handshake_gate> handshake_gate_;    // inbound handshakes in progress
  std::unordered_set<int> inbound_fds_;  // open inbound sockets, shut down by stop()
  runtime::task_group coroutines_;       // accept loop and every peer's writer
};

}  // namespace ringkv::net::peer
