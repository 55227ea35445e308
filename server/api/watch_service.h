// server/api/watch_service.h — etcd's Watch service: one bidirectional stream carries any number of
// watchers. Watchers live in the MVCC store; after every applied batch etcd_server calls pump(), which
// polls the store's ready watchers and writes their events.
//
// Slow readers cost bounded memory and nothing to writers (etcd's synced/unsynced model, without its
// buffers). Each poll gets a byte budget. A stream with less than watch_stream_queued_bytes_limit
// queued (server_call::queued_output_bytes) gets a whole poll, batched as etcd batches events (up to
// 1000 events, at most watch_poll_bytes_max): it queues at most its limit plus one batch. While the
// watch streams of its client connection queue more than watch_connection_queued_bytes_limit together,
// a stream only fills up to its fair share of that limit (the poll stops there, after one event at
// least). A watcher with no budget is paused: the store holds it (writes skip it; it keeps only its
// position) and nothing is encoded for it. When its stream's output drains (the call's drain callback)
// its paused watchers resume and catch up from the MVCC history at their position, or get etcd's
// compacted answer (canceled, compact_revision) if a compaction passed that position meanwhile.
//
// Per-watcher options kept here (not in the store): `fragment` splits a response larger than
// --max-request-bytes + 512 KiB (gRPC's overhead allowance, as etcd) into several (fragment=true on
// all but the last), exactly as etcd 3.4's sendFragments; `progress_notify` gets an empty response
// (header with the current revision) from the stream's progress loop when no event went to the watcher
// during one interval (+ up to 10% jitter).
//
//   apply batch -> store marks watchers ready -> pump(): budget? watch_poll_views -> encoder -> call.write
//                                                        none: watch_hold ... drained: watch_resume
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <unordered_map>

#include "etcd/rpc.pb.h"
#include "net/grpc/server_call.h"
#include "net/grpc/service_registry.h"
#include "runtime/task.h"
#include "server/api/request_pipeline.h"
#include "server/replica/replica.h"

namespace ringkv::server {

// What one Watch stream may queue (response bytes its client has not taken) before its watchers pause.
inline constexpr size_t watch_stream_queued_bytes_limit = 64 * 1024;
// What the Watch streams of one client connection may queue together; above it each stream of the
// connection may queue at most this / its stream count (a connection's slow streams do not stop its
// fast ones).
inline constexpr size_t watch_connection_queued_bytes_limit = 4 * 1024 * 1024;
// What one poll of a stream under its limit may take (key and value bytes; at least one event).
inline constexpr size_t watch_poll_bytes_max = 4 * 1024 * 1024;

class watch_service {
 public:
  explicit watch_service(replica& member) : member_(member) {}
  void register_methods(request_pipeline& pipeline, net::grpc::service_registry& registry);
  // Whether the stream's call may watch a range (auth_gate::watch_permitted); unset: every watch.
  using watch_permission = std::function<bool(const net::grpc::call_ref& call, const etcdserverpb::WatchCreateRequest&)>;
  void set_watch_permission(watch_permission permitted) { watch_permitted_ = std::move(permitted); }
  // After every applied batch: the ready watchers' events go out.
  void pump();

  struct watch_stream;  // one Watch call and its watchers
  struct watch_connection {  // what the watch streams of one client connection queue
    size_t streams = 0;       // open watch streams of the connection
    size_t queued_bytes = 0;  // the sum of their watch_stream::queued_seen
  };

 private:
  void on_watch(const net::grpc::call_ref& call);
  void on_request(const std::shared_ptr<watch_stream>& stream, std::string_view bytes);
  void create_watcher(const std::shared_ptr<watch_stream>& stream, const etcdserverpb::WatchCreateRequest& create,
                      etcdserverpb::WatchResponse& response);
  void cancel_watcher(watch_stream& stream, int64_t stream_id, etcdserverpb::WatchResponse& response);
  // The call went away or failed: its watchers end. The stream's callbacks own it.
  void close_stream(const std::shared_ptr<watch_stream>& stream);
  // progress_notify: see the top of this file. Started by the stream's first such watcher.
  runtime::task<void> progress_loop(std::shared_ptr<watch_stream> stream);
  void notify_progress(watch_stream& stream);
  // Polls one ready watcher until it has nothing more or its stream has no budget (then pauses it).
  void pump_watcher(watch_stream& stream, mvcc::watch_id_t id, const etcdserverpb::ResponseHeader& header,
                    const std::string& header_bytes);
  // Key and value bytes the next poll for this stream may take (see the top of this file); 0: pause.
  size_t poll_budget(watch_stream& stream);
  // Reads the stream's queued output into its connection's total (which sums what its streams showed
  // when last looked at: never less than the truth, as only these writers add to it). Returns it.
  size_t observe_queued(watch_stream& stream);
  void pause_watcher(watch_stream& stream, mvcc::watch_id_t id);
  // The stream's output drained: its paused watchers resume, caught up by a pump from here.
  void on_drained(const std::shared_ptr<watch_stream>& stream);

  replica& member_;
  watch_permission watch_permitted_;
  // Streams own themselves via their call's callbacks.
  std::unordered_map<mvcc::watch_id_t, std::weak_ptr<watch_stream>> watch_owner_;
  // By server_call::connection_key(); an entry lives while its connection has open watch streams.
  std::unordered_map<uint64_t, watch_connection> connections_;
};

}  // namespace ringkv::server
