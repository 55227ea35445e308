// server/api/watch_service.h — etcd's Watch service: one bidirectional stream carries any number of
// watchers. Watchers live in the MVCC store; after every applied batch etcd_server calls pump(), which
// polls the store's ready watchers and writes their events. A stream whose client reads slowly (more
// than watch_stream_buffer_bytes_limit queued) is skipped and caught up from history later, so a slow
// watcher never blocks writes or other watchers.
//
// Per-watcher options kept here (not in the store): `fragment` splits a response larger than
// --max-request-bytes + 512 KiB (gRPC's overhead allowance, as etcd) into several (fragment=true on
// all but the last), exactly as etcd 3.4's sendFragments; `progress_notify` gets an empty response
// (header with the current revision) from the stream's progress loop when no event went to the watcher
// during one interval (+ up to 10% jitter).
//
//   apply batch -> store marks watchers ready -> pump(): watch_poll_views -> encoder -> call.write
#pragma once

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

class watch_service {
 public:
  explicit watch_service(replica& member) : member_(member) {}
  void register_methods(request_pipeline& pipeline, net::grpc::service_registry& registry);
  // After every applied batch: the ready watchers' events go out.
  void pump();

  struct watch_stream;  // one Watch call and its watchers

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
  // Polls one ready watcher until it has nothing more or its stream is full.
  void pump_watcher(watch_stream& stream, mvcc::watch_id_t id, const etcdserverpb::ResponseHeader& header,
                    const std::string& header_bytes);

  replica& member_;
  // Streams own themselves via their call's callbacks.
  std::unordered_map<mvcc::watch_id_t, std::weak_ptr<watch_stream>> watch_owner_;
};

}  // namespace ringkv::server
