// server/watch_service.cc — etcd's Watch service: one bidirectional stream carries any number of
// watchers. Watchers live in the MVCC store; after every applied batch the node calls pump_watchers(),
// which polls the store's ready watchers and writes their events. A stream whose client reads slowly
// (more than watch_stream_buffer_bytes_limit queued) is skipped and caught up from history later, so a
// slow watcher never blocks writes or other watchers.
#include "runtime/spawn.h"
#include "server/etcd_server.h"
#include "server/log.h"
#include "server/unary_helpers.h"

namespace ringkv::server {

using net::grpc::call_ref;

namespace {
constexpr size_t watch_events_per_poll_max = 1000;
constexpr size_t watch_stream_buffer_bytes_limit = 4 << 20;
}  // namespace

struct etcd_server::watch_stream {
  call_ref call;
  std::vector<mvcc::watch_id_t> watches;
  std::vector<mvcc::watch_id_t> deferred;  // ready, but the stream's buffer was full
  bool closed = false;
};

void etcd_server::on_watch(const call_ref& call) {
  auto stream = std::make_shared<watch_stream>();
  stream->call = call;
  // The call's callbacks own the stream (and the stream holds the call until it closes).
  auto close_stream = [this, s = stream] {
    if (s->closed) return;
    s->closed = true;
    for (auto id : s->watches) {
      store_.watch_cancel(id);
      watch_owner_.erase(id);
    }
    s->watches.clear();
    s->call = call_ref();  // drop the reference: the call may now be freed
  };
  net::grpc::server_call::stream_callbacks callbacks;
  callbacks.on_message = [this, s = stream, close_stream](std::string_view bytes) {
    if (s->closed) return;
    etcdserverpb::WatchRequest request;
    if (!request.ParseFromArray(bytes.data(), int(bytes.size()))) {
      s->call->finish(to_grpc(unary::malformed()));
      close_stream();
      return;
    }
    etcdserverpb::WatchResponse response;
    fill_header(response.mutable_header(), applier_.ids(), store_.current_revision());
    if (request.has_create_request()) {
      mvcc::WatchCreateRequest create = from_proto(request.create_request());
      if (create.key.empty()) create.key = std::string(1, '\0');  // as etcd: "\0" is the smallest key
      mvcc::watch_id_t id = store_.watch_create(create);
      s->watches.push_back(id);
      watch_owner_[id] = s;
      response.set_watch_id(id);
      response.set_created(true);
      s->call->write_message(response);
      pump_watchers();  // a watch from an old revision has history to send right away
    } else if (request.has_cancel_request()) {
      mvcc::watch_id_t id = request.cancel_request().watch_id();
      auto owner = watch_owner_.find(id);
      if (owner == watch_owner_.end() || owner->second.lock() != s) return;
      store_.watch_cancel(id);
      watch_owner_.erase(owner);
      std::erase(s->watches, id);
      response.set_watch_id(id);
      response.set_canceled(true);
      s->call->write_message(response);
    } else if (request.has_progress_request()) {
      response.set_watch_id(-1);  // etcd's progress notification: header only, no watch id
      s->call->write_message(response);
    }
  };
  callbacks.on_half_close = [] {};  // etcd keeps the stream open after the client half-closes
  callbacks.on_cancel = close_stream;
  call->set_stream_callbacks(std::move(callbacks));
}

void etcd_server::pump_watchers() {
  std::vector<mvcc::watch_id_t> ready = store_.take_ready_watchers();
  for (auto& [id, weak] : watch_owner_) {  // retry streams that were full last time
    auto s = weak.lock();
    if (s && !s->deferred.empty()) {
      ready.insert(ready.end(), s->deferred.begin(), s->deferred.end());
      s->deferred.clear();
    }
  }
  for (mvcc::watch_id_t id : ready) {
    auto owner = watch_owner_.find(id);
    if (owner == watch_owner_.end()) continue;
    auto s = owner->second.lock();
    if (!s || s->closed || !s->call || !s->call->alive()) continue;
    bool more = true;
    while (more) {
      if (s->call->queued_output_bytes() > watch_stream_buffer_bytes_limit) {
        if (std::find(s->deferred.begin(), s->deferred.end(), id) == s->deferred.end()) s->deferred.push_back(id);
        break;
      }
      auto polled = store_.watch_poll(id, watch_events_per_poll_max);
      if (!polled.ok()) break;
      etcdserverpb::WatchResponse response;
      fill_header(response.mutable_header(), applier_.ids(), store_.current_revision());
      response.set_watch_id(id);
      if (polled->compact_revision != 0) {
        response.set_compact_revision(polled->compact_revision);
        response.set_canceled(true);
        response.set_cancel_reason("etcdserver: mvcc: required revision has been compacted");
        s->call->write_message(response);
        watch_owner_.erase(owner);
        std::erase(s->watches, id);
        break;
      }
      for (const auto& event : polled->events) to_proto(event, response.add_events());
      if (response.events_size() > 0) s->call->write_message(response);
      more = polled->more;
    }
  }
}

}  // namespace ringkv::server
