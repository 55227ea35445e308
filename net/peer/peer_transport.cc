// peer_transport: outbound queues and writers, inbound frame readers, stop (contract in peer_transport.h).
#include "net/peer/peer_transport.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <flatbuffers/flatbuffer_builder.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <deque>
#include <string>
#include <utility>

#include "net/tcp/connect.h"
#include "net/tcp/wait_list.h"
#include "raft/codec.h"
#include "runtime/cancel.h"
#include "runtime/log.h"
#include "runtime/timer.h"

namespace ringkv::net::peer {

namespace {

// The reused encoder keeps at most this much memory after a message (a large append is encoded, copied
// out, and then the builder's buffer is freed).
constexpr size_t builder_bytes_kept_max = 1 << 20;

// A connection that stayed up this long was healthy: the next reconnect starts from the initial delay.
constexpr std::chrono::seconds connection_healthy_after{1};

struct queued_frame {
  encoded_frame frame;
  bool snapshot = false;
};

std::span<const std::byte> bytes_of(const raft::SharedBytes& b) {
  return {reinterpret_cast<const std::byte*>(b.data()), b.size()};
}

}  // namespace

struct peer_transport::peer_link {
  peer_link(raft::NodeId peer, endpoint where, std::string host, bool message_lane)
      : id(peer), address(where), tls_host(std::move(host)), logs_activity(message_lane) {}

  raft::NodeId id;
  endpoint address;
  std::string tls_host;  // non-empty: TLS, the listener's certificate verified for this host
  std::string last_tls_error;  // the last handshake failure logged (logged again only when it changes)
  bool logs_activity;   // the message lane logs "peer became active/inactive" (etcd's lines); snapshots don't
  bool active = false;  // its last connect succeeded and nothing failed since (as logged)
  std::deque<queued_frame> queue;  // invariant: queue.size() <= queue_messages_limit
  size_t queued_bytes = 0;         // sum of queue[i].frame.size()
  std::vector<queued_frame> batch;                 // the frames of the write in progress
  std::vector<std::span<const std::byte>> pieces;  // their bytes, two pieces per frame
  net::wait_list wake;             // the writer, waiting for frames (or stop / a broken connection)
  runtime::cancel_source cancel;   // cancels the reconnect backoff sleep
  bool stopping = false;
  bool broken = false;             // the current connection failed
  int fd = -1;                     // the current connection's socket, -1 when none
};

peer_transport::peer_transport(peer_transport_config config, peer_callbacks callbacks)
    : config_(std::move(config)),
      callbacks_(std::move(callbacks)),
      builder_(std::make_unique<flatbuffers::FlatBufferBuilder>(4096)) {
  large_frames_.bytes_limit = config_.limits.inbound_large_frames_bytes_limit;
  assert(config_.local_id != raft::kNoNode);
  assert(callbacks_.on_message);
  assert(config_.limits.queue_messages_limit > 0 && config_.limits.batch_messages_max > 0);
  assert(config_.limits.stream_chunk_bytes > frame_lead_bytes);
  assert(config_.limits.inbound.read_buffer_bytes >= frame_lead_bytes);
  if (config_.tls) {
    if (config_.tls->accepting.context) {
      accepting_tls_.emplace(config_.tls->accepting, "peer");
      handshake_gate_.emplace(config_.tls->limits.concurrent_max);
    }
    if (config_.tls->dialing.context) dialing_tls_.emplace(config_.tls->dialing, "peer client");
  }
}

peer_transport::~peer_transport() {
  assert((coroutines_.running() == 0 || runtime::tearing_down()) && "peer_transport destroyed before stop()");
}

int peer_transport::start() {
  assert(!started_ && !stopping_);
  listen_options options;
  options.limits = config_.limits.inbound;
  result<listener> opened = listener::open(config_.listen, options);
  if (!opened) return opened.error();
  listener_.emplace(std::move(opened).value());
  started_ = true;
  coroutines_.spawn([](peer_transport* self) -> runtime::task<void> {
    co_await self->listener_->serve([self](connection conn) { return self->serve_inbound(std::move(conn)); });
  }(this));
  return 0;
}

const endpoint& peer_transport::local() const {
  assert(listener_ && "local() before start()");
  return listener_->local();
}

// ---- membership ----

void peer_transport::add_peer(raft::NodeId peer, endpoint address, std::string tls_host) {
  assert(peer != config_.local_id && peer != raft::kNoNode);
  if (stopping_) return;
  remove_peer(peer);
  peer_lanes lanes{std::make_shared<peer_link>(peer, address, tls_host, true),
                   std::make_shared<peer_link>(peer, address, tls_host, false)};
  coroutines_.spawn(run_peer(lanes.messages));
  coroutines_.spawn(run_peer(lanes.snapshots));
  peers_.emplace(peer, std::move(lanes));
}

void peer_transport::remove_peer(raft::NodeId peer) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  peer_lanes lanes = std::move(it->second);
  peers_.erase(it);
  stop_lanes(lanes);
}

void peer_transport::mark_removed(raft::NodeId peer) {
  removed_.insert(peer);
  remove_peer(peer);
}

bool peer_transport::has_peer(raft::NodeId peer) const { return peers_.contains(peer); }

size_t peer_transport::queued_messages(raft::NodeId peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? 0 : it->second.messages->queue.size() + it->second.snapshots->queue.size();
}

size_t peer_transport::queued_bytes(raft::NodeId peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? 0 : it->second.messages->queued_bytes + it->second.snapshots->queued_bytes;
}

void peer_transport::stop_lanes(peer_lanes& lanes) {
  stop_link(*lanes.messages);
  stop_link(*lanes.snapshots);
}

void peer_transport::stop_link(peer_link& link) {
  link.stopping = true;
  link.cancel.cancel();
  if (link.fd >= 0) ::shutdown(link.fd, SHUT_RDWR);  // a writer parked on a slow peer fails at once
  link.wake.wake_all();
}

// ---- reporting (never inside send(): the caller may be in the middle of its raft turn) ----

void peer_transport::report_unreachable(raft::NodeId peer) {
  if (callbacks_.on_unreachable) callbacks_.on_unreachable(peer);
}

void peer_transport::report_snapshot(raft::NodeId peer, raft::SnapshotStatus status) {
  if (callbacks_.on_snapshot_status) callbacks_.on_snapshot_status(peer, status);
}

void peer_transport::defer_drop_report(raft::NodeId peer, bool snapshot) {
  if (stopping_) return;  // nothing is reported once stop() began (its coroutines may be gone)
  if (std::find(drops_unreported_.begin(), drops_unreported_.end(), peer) == drops_unreported_.end()) {
    drops_unreported_.push_back(peer);
  }
  if (snapshot) snapshot_failures_unreported_.push_back(peer);
  if (drop_report_scheduled_) return;
  drop_report_scheduled_ = true;
  coroutines_.spawn([](peer_transport* self) -> runtime::task<void> {
    co_await runtime::yield();
    self->drop_report_scheduled_ = false;
    std::vector<raft::NodeId> unreachable = std::exchange(self->drops_unreported_, {});
    std::vector<raft::NodeId> snapshots = std::exchange(self->snapshot_failures_unreported_, {});
    for (raft::NodeId peer : snapshots) self->report_snapshot(peer, raft::SnapshotStatus::kFailed);
    for (raft::NodeId peer : unreachable) self->report_unreachable(peer);
  }(this));
}

// ---- sending ----

raft::SharedBytes peer_transport::encode(const raft::Message& message) {
  if (message.type == raft::MessageType::kSnapshot) return raft::encode_message(message);  // its own buffer
  raft::encode_message(message, *builder_);
  raft::SharedBytes encoded =
      raft::SharedBytes::copy_of(std::span<const uint8_t>(builder_->GetBufferPointer(), builder_->GetSize()));
  if (builder_->GetSize() > builder_bytes_kept_max) builder_->Reset();
  return encoded;
}

bool peer_transport::send(const raft::Message& message) {
  const bool snapshot = message.type == raft::MessageType::kSnapshot;
  auto it = peers_.find(message.to);
  if (it == peers_.end() || stopping_) {
    ++stats_.dropped_unknown_peer;
    defer_drop_report(message.to, snapshot);
    return false;
  }
  peer_link& link = snapshot ? *it->second.snapshots : *it->second.messages;
  const peer_limits& limits = config_.limits;
  if (link.queue.size() >= limits.queue_messages_limit) {
    ++stats_.dropped_queue_full;
    defer_drop_report(link.id, snapshot);
    return false;
  }
  raft::SharedBytes encoded = encode(message);
  if (encoded.size() > frame_message_bytes_max) {
    ++stats_.dropped_too_large;
    defer_drop_report(link.id, snapshot);
    return false;
  }
  const size_t frame_bytes = frame_lead_bytes + encoded.size();
  if (!link.queue.empty() && link.queued_bytes + frame_bytes > limits.queue_bytes_limit) {
    ++stats_.dropped_queue_full;
    defer_drop_report(link.id, snapshot);
    return false;
  }
  link.queue.push_back({make_frame({config_.cluster_id, config_.local_id, link.id}, std::move(encoded)), snapshot});
  link.queued_bytes += frame_bytes;
  link.wake.wake_all();
  return true;
}

runtime::task<void> peer_transport::run_peer(std::shared_ptr<peer_link> self) {
  peer_link& link = *self;
  const peer_limits& limits = config_.limits;
  std::chrono::milliseconds delay = limits.reconnect_delay_initial;
  while (!link.stopping) {
    if (link.queue.empty()) {
      co_await link.wake.wait();
      continue;
    }
    result<connection> connected = co_await connect(link.address, limits.connect_timeout, limits.outbound);
    std::string tls_failure;
    if (connected && !link.stopping) {
      ++stats_.connects;
      const unsigned unacked_ms = static_cast<unsigned>(limits.unacked_send_timeout.count());
      ::setsockopt(connected.value().fd(), IPPROTO_TCP, TCP_USER_TIMEOUT, &unacked_ms, sizeof unacked_ms);
      link.fd = connected.value().fd();  // stop_link shuts a handshake in progress down too
      tls_failure = co_await secure_outbound(link, connected.value());
      link.fd = -1;
      if (tls_failure.empty() && !link.stopping) {
        const runtime::clock::time_point opened_at = runtime::clock::now();
        note_activity(link, true, {});
        co_await run_connection(link, connected.value());
        if (runtime::clock::now() - opened_at >= connection_healthy_after) delay = limits.reconnect_delay_initial;
      }
    } else if (!connected) {
      ++stats_.connect_failures;
    }
    if (connected) co_await connected.value().close();
    if (link.stopping) break;
    note_activity(link, false, !tls_failure.empty() ? std::string_view(tls_failure)
                               : connected          ? std::string_view("connection lost")
                                                    : connected.error_message());
    report_unreachable(link.id);
    co_await runtime::sleep_for(delay, link.cancel.token());
    delay = std::min(delay * 2, limits.reconnect_delay_max);
  }
  for (const queued_frame& f : link.queue) {
    if (f.snapshot) report_snapshot(link.id, raft::SnapshotStatus::kFailed);
  }
  link.queue.clear();
  link.queued_bytes = 0;
}

runtime::task<std::string> peer_transport::secure_outbound(peer_link& link, connection& conn) {
  if (link.tls_host.empty()) co_return "";
  std::string failure;
  if (!dialing_tls_) {
    failure = "the peer URL is https but this member has no peer TLS (--peer-cert-file/--peer-key-file or --peer-auto-tls)";
  } else {
    tls::handshake_outcome outcome =
        co_await tls::client_handshake(conn, dialing_tls_->current(), config_.tls->limits, link.tls_host);
    if (outcome.ok) {
      link.last_tls_error.clear();
      co_return "";
    }
    failure = std::move(outcome.error);
  }
  ++stats_.tls_dial_failures;
  if (link.logs_activity && failure != link.last_tls_error) {
    log::warn("cannot set up TLS with the peer", {log::hex_id("local-member-id", config_.local_id), log::hex_id("peer-id", link.id),
                                                  {"peer-address", link.address.to_string()}, {"error", failure}});
    link.last_tls_error = failure;
  }
  co_return failure;
}

void peer_transport::note_activity(peer_link& link, bool active, std::string_view error) {
  if (!link.logs_activity || link.active == active) return;
  link.active = active;
  if (active) {
    log::info("peer became active", {log::hex_id("local-member-id", config_.local_id), log::hex_id("peer-id", link.id),
                                     {"peer-address", link.address.to_string()}});
  } else {
    log::warn("peer became inactive (message send to peer failed)",
              {log::hex_id("local-member-id", config_.local_id), log::hex_id("peer-id", link.id),
               {"peer-address", link.address.to_string()}, {"error", error}});
  }
}

runtime::task<void> peer_transport::run_connection(peer_link& link, connection& conn) {
  link.fd = conn.fd();
  link.broken = false;
  co_await runtime::when_all(write_loop(link, conn), watch_loop(link, conn));
  link.fd = -1;
}

// Peers never send on an outbound connection: data, end of stream or an error all mean it is over.
runtime::task<void> peer_transport::watch_loop(peer_link& link, connection& conn) {
  const int got = co_await conn.fill(frame_lead_bytes + removed_notice_message.size());
  if (got > 0 && is_removed_notice(link, conn) && callbacks_.on_removed && !stopping_) callbacks_.on_removed();
  link.broken = true;
  ::shutdown(conn.fd(), SHUT_RDWR);
  link.wake.wake_all();
}

runtime::task<void> peer_transport::write_loop(peer_link& link, connection& conn) {
  const peer_limits& limits = config_.limits;
  while (!link.stopping && !link.broken) {
    if (link.queue.empty()) {
      co_await link.wake.wait();
      co_await runtime::yield();  // let the sends of this loop turn join the batch
      continue;
    }
    link.batch.clear();
    size_t batch_bytes = 0;
    while (!link.queue.empty() && link.batch.size() < limits.batch_messages_max) {
      const size_t bytes = link.queue.front().frame.size();
      if (!link.batch.empty() && batch_bytes + bytes > limits.batch_bytes_limit) break;
      batch_bytes += bytes;
      link.batch.push_back(std::move(link.queue.front()));
      link.queue.pop_front();
      link.queued_bytes -= bytes;
    }
    const int written = co_await write_batch(link, conn);
    const raft::SnapshotStatus outcome = written < 0 ? raft::SnapshotStatus::kFailed : raft::SnapshotStatus::kFinished;
    if (written < 0) {
      link.broken = true;
      stats_.lost_on_failed_connection += link.batch.size();
    } else {
      stats_.messages_sent += link.batch.size();
      stats_.bytes_sent += batch_bytes;
      ++stats_.vectored_writes;
    }
    for (const queued_frame& f : link.batch) {
      if (f.snapshot) report_snapshot(link.id, outcome);
    }
    link.batch.clear();
  }
  ::shutdown(conn.fd(), SHUT_RDWR);  // ends watch_loop
}

// One vectored write of the whole batch, or - for a single frame above stream_chunk_bytes - the frame
// in chunks. 0 or -errno.
runtime::task<int> peer_transport::write_batch(peer_link& link, connection& conn) {
  const std::vector<queued_frame>& batch = link.batch;
  const size_t chunk_bytes = config_.limits.stream_chunk_bytes;
  link.pieces.clear();
  if (batch.size() == 1 && batch.front().frame.size() > chunk_bytes) {
    const encoded_frame& frame = batch.front().frame;
    const std::span<const std::byte> message = bytes_of(frame.message);
    size_t at = chunk_bytes - frame_lead_bytes;
    link.pieces = {frame.lead, message.first(at)};
    int written = co_await conn.writev(link.pieces);
    while (written >= 0 && at < message.size()) {
      const size_t n = std::min(chunk_bytes, message.size() - at);
      written = co_await conn.write(message.subspan(at, n));
      at += n;
      ++stats_.large_frame_chunks;
    }
    co_return std::min(written, 0);
  }
  for (const queued_frame& f : batch) {
    link.pieces.push_back(f.frame.lead);
    link.pieces.push_back(bytes_of(f.frame.message));
  }
  // Over TLS, the connection joins the pieces before sealing them (connection::send_encoded): one
  // record per 16 KiB of the batch, not one per piece.
  const int written = co_await conn.writev(link.pieces);
  co_return std::min(written, 0);
}

// ---- receiving ----

frame_fault peer_transport::check_header(const frame_header& header) const {
  if (header == frame_header{}) return frame_fault::members_query;
  if (header.cluster_id != config_.cluster_id) return frame_fault::wrong_cluster;
  if (removed_.contains(header.from)) return frame_fault::removed_sender;
  if (header.to != config_.local_id || header.from == config_.local_id) return frame_fault::misaddressed;
  return frame_fault::none;
}

void peer_transport::count_fault(frame_fault fault) {
  switch (fault) {
    case frame_fault::none:
    case frame_fault::closed: break;
    case frame_fault::io_error: ++stats_.inbound_io_errors; break;
    case frame_fault::too_slow: ++stats_.rejected_too_slow; break;
    case frame_fault::bad_prefix: ++stats_.rejected_bad_prefix; break;
    case frame_fault::checksum: ++stats_.rejected_checksum; break;
    case frame_fault::undecodable: ++stats_.rejected_undecodable; break;
    case frame_fault::wrong_cluster: ++stats_.rejected_wrong_cluster; break;
    case frame_fault::removed_sender: ++stats_.rejected_removed_sender; break;
    case frame_fault::misaddressed: ++stats_.rejected_misaddressed; break;
    case frame_fault::over_budget: ++stats_.rejected_over_budget; break;
    case frame_fault::members_query: break;
  }
}

runtime::task<bool> peer_transport::secure_inbound(connection& conn) {
  if (!accepting_tls_) co_return true;
  const std::string remote = tls::remote_address(conn);  // before a failed handshake shuts the socket down
  tls::handshake_outcome outcome =
      co_await tls::server_handshake(conn, accepting_tls_->current(), config_.tls->limits, *handshake_gate_);
  if (outcome.ok) co_return true;
  ++stats_.tls_rejected;
  if (!stopping_) log::warn("rejected connection", {{"remote-addr", remote}, {"error", outcome.error}});
  co_return false;
}

runtime::task<void> peer_transport::serve_inbound(connection conn) {
  if (!stopping_) {
    ++stats_.connections_accepted;
    const int fd = conn.fd();
    inbound_fds_.insert(fd);
    if (!co_await secure_inbound(conn)) {
      inbound_fds_.erase(fd);
      co_await conn.close();
      co_return;
    }
    frame_header last_header;
    // A connection speaks for one member: the sender of its first frame. A frame in another member's
    // name on it (a forged acknowledgement, say) closes it.
    raft::NodeId speaks_for = raft::kNoNode;
    const header_check check = [this, &last_header, &speaks_for](const frame_header& header) {
      last_header = header;
      const frame_fault fault = check_header(header);
      if (fault != frame_fault::none) return fault;
      if (speaks_for == raft::kNoNode) speaks_for = header.from;
      return header.from == speaks_for ? frame_fault::none : frame_fault::misaddressed;
    };
    const size_t in_place_bytes_max = config_.limits.inbound.read_buffer_bytes;
    while (!stopping_) {
      frame_read got = co_await read_frame(conn, check, in_place_bytes_max, large_frames_, config_.limits.inbound_pace);
      if (got.fault != frame_fault::none) {
        count_fault(got.fault);
        if (got.fault == frame_fault::members_query) co_await answer_members_query(conn);
        if (got.fault == frame_fault::removed_sender) co_await send_removed_notice(conn, last_header.from);
        break;
      }
      ++stats_.messages_received;
      callbacks_.on_message(std::move(got.message));
    }
    inbound_fds_.erase(fd);
  }
  co_await conn.close();
}

// ---- frames that are not raft messages (frame.h) ----

runtime::task<void> peer_transport::answer_members_query(connection& conn) {
  if (!callbacks_.on_members_query) co_return;
  std::string answer = callbacks_.on_members_query();
  if (answer.size() > frame_message_bytes_max) co_return;
  encoded_frame frame = make_frame({config_.cluster_id, config_.local_id, raft::kNoNode},
                                   raft::SharedBytes::copy_of(std::string_view(answer)));
  std::array<std::span<const std::byte>, 2> pieces{std::span<const std::byte>(frame.lead), bytes_of(frame.message)};
  if (co_await conn.writev(pieces) >= 0) {
    co_await conn.flush();
    ++stats_.members_queries;
  }
}

runtime::task<void> peer_transport::send_removed_notice(connection& conn, raft::NodeId removed) {
  encoded_frame frame = make_frame({config_.cluster_id, config_.local_id, removed},
                                   raft::SharedBytes::copy_of(removed_notice_message));
  std::array<std::span<const std::byte>, 2> pieces{std::span<const std::byte>(frame.lead), bytes_of(frame.message)};
  if (co_await conn.writev(pieces) >= 0) {
    co_await conn.flush();
    ++stats_.removed_notices_sent;
  }
}

// What arrived on an outbound connection (peers never send there) is a removed notice for us.
bool peer_transport::is_removed_notice(peer_link& link, connection& conn) {
  const std::span<const std::byte> got = conn.readable();
  if (got.size() < frame_lead_bytes + removed_notice_message.size()) return false;
  const frame_prefix prefix = parse_prefix(got.first<frame_prefix_bytes>());
  if (prefix.body_bytes != frame_header_bytes + removed_notice_message.size()) return false;
  const auto header_bytes = got.subspan(frame_prefix_bytes, frame_header_bytes);
  const auto message = got.subspan(frame_lead_bytes, removed_notice_message.size());
  const auto message_bytes = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(message.data()), message.size());
  if (body_checksum(header_bytes, message_bytes) != prefix.body_checksum) return false;
  const frame_header header = parse_header(header_bytes.first<frame_header_bytes>());
  return header == frame_header{config_.cluster_id, link.id, config_.local_id} &&
         std::string_view(reinterpret_cast<const char*>(message.data()), message.size()) == removed_notice_message;
}

// ---- stop ----

runtime::task<void> peer_transport::stop() {
  if (!stopping_) {
    stopping_ = true;
    for (int fd : inbound_fds_) ::shutdown(fd, SHUT_RDWR);
    std::unordered_map<raft::NodeId, peer_lanes> links = std::exchange(peers_, {});
    for (auto& [id, lanes] : links) stop_lanes(lanes);
    if (started_) co_await listener_->close();
  }
  co_await coroutines_.wait();
}

}  // namespace ringkv::net::peer
