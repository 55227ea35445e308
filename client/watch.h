// client/watch.h - many watches on one Watch stream, resumed after a disconnect or member failover.
//
//   watch_hub hub(c);                                  // owns the stream and its pump coroutine
//   watch_options from; from.range_end = prefix_end("config/"); from.start_revision = rev + 1;
//   auto w = hub.watch("config/", from);
//   while (true) { auto batch = co_await w->next(); if (!batch.ok()) break; ... }
//
// Resume rule: each watcher remembers next_revision = (last event's mod_revision, or the revision a
// progress notification or the `created` reply vouches for) + 1. When the stream breaks, the hub dials
// the next endpoint (client::stream_connection) and re-creates every live watch from its next_revision,
// and drops any event below it: no event is lost and none repeated. A start revision that was compacted
// ends the watcher with OUT_OF_RANGE and compact_revision() set (the caller must re-read and re-watch).
// Bounded buffering: a watcher holds at most `events_limit` events; when one is full the pump stops
// parsing the stream until the caller drains it; what the server sends meanwhile waits in the stream's
// inbox up to stream_inbox_bytes_limit, past which the stream is dropped and the watches resume on a new
// one from their next revisions (no event lost or repeated; HTTP/2 flow control is not used for this).
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "client/client.h"
#include "etcd/kv.pb.h"
#include "etcd/rpc.pb.h"
#include "runtime/condition.h"
#include "runtime/gate.h"
#include "runtime/notifier.h"

namespace ringkv::client {

struct watch_options {
  std::string range_end;       // empty: the key alone; prefix_end(key): a prefix
  int64_t start_revision = 0;  // 0: from the next change
  bool prev_kv = false;
  bool no_put = false;         // filters
  bool no_delete = false;
  bool progress_notify = false;
  size_t events_limit = 4096;  // events buffered for this watcher before the stream pauses
};

struct watch_batch {
  std::vector<mvccpb::Event> events;  // empty for a progress notification
  int64_t revision = 0;               // the response header's revision
};

class watch_hub;

class watcher {
 public:
  // The next batch of events (or progress notification); a non-OK status when the watch ended:
  // OUT_OF_RANGE (compacted: see compact_revision()), CANCELLED (cancel(), the hub closed, or the server
  // cancelled it: message says why), DEADLINE_EXCEEDED when `timeout` (non-zero) passed first.
  runtime::task<result<watch_batch>> next(std::chrono::nanoseconds timeout = {});
  void cancel();  // ends the watch (the server is told)

  int64_t compact_revision() const { return compact_revision_; }
  int64_t next_revision() const { return next_revision_; }
  size_t buffered_events() const { return buffered_events_; }  // delivered, not yet taken by next()

 private:
  friend class watch_hub;
  watcher(watch_hub& hub, etcdserverpb::WatchCreateRequest create) : hub_(hub), create_(std::move(create)) {}

  watch_hub& hub_;
  etcdserverpb::WatchCreateRequest create_;
  int64_t next_revision_ = 0;    // 0 until the first `created` reply when no start revision was asked
  int64_t watch_id_ = -1;        // the server's id on the current stream; -1 while not created there
  int64_t compact_revision_ = 0;
  size_t events_limit_ = 0;
  std::deque<watch_batch> batches_;
  size_t buffered_events_ = 0;
  bool ended_ = false;
  status end_;
  runtime::condition changed_;
};

class watch_hub {
 public:
  // stream_inbox_bytes_limit: received responses not yet delivered (grpc_connection::open_stream);
  // past it the stream is dropped and every watch resumes on a new one from its next revision.
  explicit watch_hub(client& c, size_t stream_inbox_bytes_limit = grpc_connection::stream_inbox_bytes_limit);
  ~watch_hub();
  watch_hub(const watch_hub&) = delete;
  watch_hub& operator=(const watch_hub&) = delete;

  std::shared_ptr<watcher> watch(std::string_view key, const watch_options& options = {});
  // Cancels every watcher and stops the pump; call before destroying the hub.
  // etcd's WatchProgressRequest: every bound watcher then gets an empty batch with the revision the
  // server is at. It does not move a watcher's resume point: etcd 3.4 answers at once, also while a
  // watcher still has older events on their way (use watch_options::progress_notify for that).
  void request_progress();

  runtime::task<void> close();

 private:
  friend class watcher;
  runtime::task<void> pump();
  runtime::task<void> serve(grpc_stream& stream);
  void deliver(const etcdserverpb::WatchResponse& response);
  void end(watcher& w, status why);
  bool some_watcher_full() const;

  client& client_;
  size_t stream_inbox_bytes_limit_;
  std::vector<std::shared_ptr<watcher>> watchers_;     // live watchers, in creation order
  std::deque<std::shared_ptr<watcher>> awaiting_created_;  // create sent on this stream, no reply yet
  std::vector<int64_t> cancels_;  // watch ids to cancel on the current stream
  bool progress_wanted_ = false;  // request_progress() not sent yet
  grpc_stream* stream_ = nullptr;  // while the pump serves one
  bool closing_ = false;
  runtime::notifier wake_;  // the pump: new watcher, cancel, stream broken, close
  runtime::notifier room_;  // the receiver: a watcher drained its buffer
  runtime::gate pump_gate_;
  runtime::cancel_source pump_cancel_;
};

}  // namespace ringkv::client
