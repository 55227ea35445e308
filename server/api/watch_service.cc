// server/api/watch_service.cc — see watch_service.h.
#include "server/api/watch_service.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <random>

#include "net/grpc/grpc_server_session.h"
#include "runtime/cancel.h"
#include "runtime/spawn.h"
#include "runtime/timer.h"
#include "server/api/service_support.h"
#include "server/api/watch_encoder.h"
#include "server/api/watch_fragment.h"
#include "server/common/metrics.h"

namespace ringkv::server {

using net::grpc::call_ref;

namespace {
constexpr size_t watch_events_per_poll_max = 1000;

// A watcher as its stream knows it: the id the client sees (etcd numbers watchers per stream from 0,
// or takes the client's watch_id) and the options the store does not need.
struct stream_watcher {
  int64_t stream_id = 0;
  bool fragment = false;
  bool progress_notify = false;
  bool events_sent_this_interval = false;  // progress_notify: an event went out since the last tick
  bool paused = false;  // held in the store until the stream drains (in watch_stream::paused)
};

// etcd's answers to a create request it refuses (mvcc errors, sent as created + canceled, watch_id -1).
constexpr const char* duplicate_watch_id_reason = "mvcc: duplicate watch ID provided on the WatchStream";
constexpr const char* empty_watch_range_reason = "mvcc: watcher range is empty";

// etcd's GetProgressReportInterval: the interval plus rand(interval / 10), so streams created together
// do not all notify at the same moment.
std::chrono::milliseconds progress_interval_with_jitter(std::chrono::milliseconds interval) {
  static thread_local std::minstd_rand random{std::random_device{}()};
  int64_t jitter_ms_max = interval.count() / 10;
  if (jitter_ms_max <= 0) return interval;
  return interval + std::chrono::milliseconds(int64_t(random() % uint64_t(jitter_ms_max)));
}

// etcd's gauges for open watch streams and watchers (how tests see that nothing leaks).
metrics::gauge& watch_stream_gauge() {
  static metrics::gauge& gauge = metrics::global().add_gauge("etcd_debugging_mvcc_watch_stream_total",
                                                              "Total number of watch streams.");
  return gauge;
}
// How often a watcher was paused because its stream or connection had queued its limit.
metrics::counter& watch_pauses_counter() {
  static metrics::counter& counter = metrics::global().add_counter(
      "ringkv_watch_pauses_total", "Watchers paused because their stream's queued output reached its limit.");
  return counter;
}
// What the watch streams have queued that their clients have not taken (as last looked at).
metrics::gauge& watch_queued_bytes_gauge() {
  static metrics::gauge& gauge = metrics::global().add_gauge(
      "ringkv_watch_queued_bytes", "Response bytes queued on watch streams that their clients have not taken yet.");
  return gauge;
}
metrics::gauge& watcher_gauge() {
  static metrics::gauge& gauge =
      metrics::global().add_gauge("etcd_debugging_mvcc_watcher_total", "Total number of watchers.");
  return gauge;
}

// Bytes `event` adds to its WatchResponse (field 11, length-delimited).
size_t event_field_bytes(const mvccpb::Event& event) {
  size_t bytes = event.ByteSizeLong();
  return 1 + google::protobuf::io::CodedOutputStream::VarintSize64(bytes) + bytes;
}

// Sends `response` as plan_watch_fragments says (whole, or in pieces). False when the call is gone.
bool write_fragmented(net::grpc::server_call& call, etcdserverpb::WatchResponse& response, size_t max_bytes) {
  const size_t whole_bytes = response.ByteSizeLong();
  if (whole_bytes < max_bytes || response.events_size() < 2) return call.write_message(response);
  google::protobuf::RepeatedPtrField<mvccpb::Event> events;
  events.Swap(response.mutable_events());
  response.set_fragment(true);
  std::vector<size_t> event_bytes;
  event_bytes.reserve(size_t(events.size()));
  for (const auto& event : events) event_bytes.push_back(event_field_bytes(event));
  std::vector<size_t> ends = plan_watch_fragments(whole_bytes, response.ByteSizeLong(), event_bytes, max_bytes);
  size_t next = 0;
  for (size_t end : ends) {
    etcdserverpb::WatchResponse piece = response;  // header, watch id, fragment=true; no events
    for (size_t i = next; i < end; ++i) piece.mutable_events()->Add(std::move(*events.Mutable(int(i))));
    if (end == event_bytes.size()) piece.set_fragment(false);
    next = end;
    if (!call.write_message(piece)) return false;
  }
  return true;
}

// One poll's events: into the encoder's bytes, or (fragment watchers) into a WatchResponse to split.
struct event_sink {
  const stream_watcher& watcher;
  watch_response_encoder& encoder;
  etcdserverpb::WatchResponse& response;
  void operator()(const mvcc::EventView& event) const {
    if (watcher.fragment) to_proto(event.to_owned(), response.add_events());
    else encoder.add_event(event);
  }
};
}  // namespace

struct watch_service::watch_stream {
  call_ref call;
  watch_connection* connection = nullptr;  // an entry of connections_ (nodes do not move)
  uint64_t connection_key = 0;
  size_t queued_seen = 0;  // queued_output_bytes() when last looked at (counted in the connection's)
  std::unordered_map<mvcc::watch_id_t, stream_watcher> watchers;  // by the store's (global) id
  std::unordered_map<int64_t, mvcc::watch_id_t> by_stream_id;      // the client's id -> the store's
  int64_t next_stream_id = 0;  // etcd's auto ids: the lowest unused from here on
  std::vector<mvcc::watch_id_t> paused;  // held in the store: resumed when the call's output drains
  runtime::cancel_source progress_stop;  // ends the progress loop (started by the first progress_notify)
  bool progress_loop_running = false;
  bool closed = false;

  // The client's id for a new watcher: `wanted` (> 0) if free, else the next free one; -1 if taken.
  int64_t assign_stream_id(int64_t wanted) {
    if (wanted > 0) return by_stream_id.contains(wanted) ? -1 : wanted;
    while (by_stream_id.contains(next_stream_id)) ++next_stream_id;
    return next_stream_id++;
  }
  void forget(mvcc::watch_id_t id) {
    auto w = watchers.find(id);
    if (w == watchers.end()) return;
    by_stream_id.erase(w->second.stream_id);
    watchers.erase(w);
  }
};

void watch_service::register_methods(request_pipeline& pipeline, net::grpc::service_registry& registry) {
  service_methods watch(pipeline, registry, *this, "/etcdserverpb.Watch/");
  watch.stream("Watch", &watch_service::on_watch);
}

void watch_service::on_watch(const call_ref& call) {
  auto stream = std::make_shared<watch_stream>();
  stream->call = call;
  stream->connection_key = call->connection_key();
  stream->connection = &connections_[stream->connection_key];
  ++stream->connection->streams;
  watch_stream_gauge().add(1);
  // The call's callbacks own the stream (and the stream holds the call until it closes). on_half_close
  // stays empty: etcd keeps the stream open after the client half-closes.
  net::grpc::server_call::stream_callbacks callbacks;
  callbacks.on_message = std::bind_front(&watch_service::on_request, this, stream);
  callbacks.on_cancel = std::bind_front(&watch_service::close_stream, this, stream);
  call->set_stream_callbacks(std::move(callbacks));
  call->set_drain_callback(std::bind_front(&watch_service::on_drained, this, stream));
}

void watch_service::close_stream(const std::shared_ptr<watch_stream>& s) {
  if (s->closed) return;
  s->closed = true;
  watch_stream_gauge().add(-1);
  for (const auto& [id, watcher] : s->watchers) {
    member_.store().watch_cancel(id);
    watch_owner_.erase(id);
  }
  s->watchers.clear();
  s->by_stream_id.clear();
  s->paused.clear();
  watch_connection& connection = *s->connection;
  assert(connection.streams > 0 && connection.queued_bytes >= s->queued_seen);
  connection.queued_bytes -= s->queued_seen;
  watch_queued_bytes_gauge().add(-double(s->queued_seen));
  if (--connection.streams == 0) connections_.erase(s->connection_key);
  s->connection = nullptr;
  if (s->progress_loop_running) s->progress_stop.cancel();
  s->call->set_drain_callback(nullptr);
  s->call = call_ref();  // drop the reference: the call may now be freed
  watcher_gauge().set(double(member_.store().watcher_count()));
}

void watch_service::on_request(const std::shared_ptr<watch_stream>& s, std::string_view bytes) {
  if (s->closed) return;
  etcdserverpb::WatchRequest request;
  if (!unary::parse(request, bytes)) {
    s->call->finish(to_grpc(unary::malformed()));
    close_stream(s);
    return;
  }
  etcdserverpb::WatchResponse response;
  stamp_header(member_, response);
  if (request.has_create_request()) {
    create_watcher(s, request.create_request(), response);
  } else if (request.has_cancel_request()) {
    cancel_watcher(*s, request.cancel_request().watch_id(), response);
  } else if (request.has_progress_request()) {
    response.set_watch_id(-1);  // etcd's progress notification: header only, no watch id
    s->call->write_message(response);
  }
}

void watch_service::create_watcher(const std::shared_ptr<watch_stream>& s, const etcdserverpb::WatchCreateRequest& proto,
                                   etcdserverpb::WatchResponse& response) {
  mvcc::WatchCreateRequest create = from_proto(proto);
  if (create.key.empty()) create.key = std::string(1, '\0');  // as etcd: "\0" is the smallest key
  bool to_the_end = create.range_end.size() == 1 && create.range_end[0] == '\0';
  const char* refused = nullptr;
  int64_t stream_id = -1;
  if (watch_permitted_ && !watch_permitted_(s->call, proto)) {
    // etcd 3.4: created and canceled at once with the permission error's text, the requested watch id.
    response.set_created(true);
    response.set_watch_id(proto.watch_id());
    response.set_canceled(true);
    response.set_cancel_reason("rpc error: code = PermissionDenied desc = etcdserver: permission denied");
    s->call->write_message(response);
    return;
  }
  if (!create.range_end.empty() && !to_the_end && create.key >= create.range_end) {
    refused = empty_watch_range_reason;
  } else if (stream_id = s->assign_stream_id(proto.watch_id()); stream_id < 0) {
    refused = duplicate_watch_id_reason;
  }
  response.set_created(true);
  if (refused) {  // etcd: created and canceled at once, watch_id -1
    response.set_watch_id(-1);
    response.set_canceled(true);
    response.set_cancel_reason(refused);
    s->call->write_message(response);
    return;
  }
  mvcc::watch_id_t id = member_.store().watch_create(create);
  s->watchers[id] = stream_watcher{stream_id, proto.fragment(), proto.progress_notify(), false};
  s->by_stream_id[stream_id] = id;
  watch_owner_[id] = s;
  response.set_watch_id(stream_id);
  s->call->write_message(response);
  watcher_gauge().set(double(member_.store().watcher_count()));
  if (proto.progress_notify() && !s->progress_loop_running) {
    s->progress_loop_running = true;
    runtime::spawn(progress_loop(s));
  }
  pump();  // a watch from an old revision has history to send right away
}

void watch_service::cancel_watcher(watch_stream& s, int64_t stream_id, etcdserverpb::WatchResponse& response) {
  auto known = s.by_stream_id.find(stream_id);
  if (known == s.by_stream_id.end()) return;  // etcd answers an unknown id with nothing
  mvcc::watch_id_t id = known->second;
  member_.store().watch_cancel(id);
  watch_owner_.erase(id);
  s.forget(id);
  response.set_watch_id(stream_id);
  response.set_canceled(true);
  s.call->write_message(response);
  watcher_gauge().set(double(member_.store().watcher_count()));
}

runtime::task<void> watch_service::progress_loop(std::shared_ptr<watch_stream> s) {
  while (!s->closed) {
    int slept = co_await runtime::sleep_for(progress_interval_with_jitter(member_.config().watch_progress_notify_interval),
                                            s->progress_stop.token());
    if (slept != 0 || s->closed || !s->call || !s->call->alive()) break;
    notify_progress(*s);
  }
  s->progress_loop_running = false;
}

// Watchers with progress_notify that got no event since the last tick and are caught up (etcd's
// "synced") get {watch_id, header} with the current revision.
void watch_service::notify_progress(watch_stream& s) {
  for (auto& [id, watcher] : s.watchers) {
    if (!watcher.progress_notify) continue;
    bool caught_up = member_.store().watch_caught_up(id) && !watcher.paused;
    if (!watcher.events_sent_this_interval && caught_up) {
      etcdserverpb::WatchResponse response;
      stamp_header(member_, response);
      response.set_watch_id(watcher.stream_id);
      s.call->write_message(response);
    }
    watcher.events_sent_this_interval = false;
  }
}

void watch_service::pump() {
  std::vector<mvcc::watch_id_t> ready = member_.store().take_ready_watchers();
  if (ready.empty()) return;
  // One header for the whole batch: nothing changes the store while the pump runs.
  etcdserverpb::ResponseHeader header;
  fill_header(&header, member_.applier().ids(), member_.store().current_revision());
  const std::string header_bytes = header.SerializeAsString();
  for (mvcc::watch_id_t id : ready) {
    auto owner = watch_owner_.find(id);
    if (owner == watch_owner_.end()) continue;
    watch_stream* s = owner->second.lock().get();  // the map's owner (the call) keeps it alive here
    if (!s || s->closed || !s->call || !s->call->alive()) continue;
    pump_watcher(*s, id, header, header_bytes);
  }
}

void watch_service::pump_watcher(watch_stream& s, mvcc::watch_id_t id, const etcdserverpb::ResponseHeader& header,
                                 const std::string& header_bytes) {
  static thread_local watch_response_encoder encoder;  // keeps its buffer from pump to pump
  auto found = s.watchers.find(id);
  if (found == s.watchers.end()) return;
  stream_watcher& watcher = found->second;
  mvcc::MvccStore& store = member_.store();
  if (watcher.paused) {  // listed ready by a poll that left events behind, before it was paused
    store.watch_hold(id);
    return;
  }
  bool more = true;
  while (more) {
    const size_t budget = poll_budget(s);
    if (budget == 0) {
      pause_watcher(s, id);
      return;
    }
    encoder.begin(header_bytes, watcher.stream_id);
    etcdserverpb::WatchResponse response;  // only for fragment watchers (and the compacted answer)
    auto polled = store.watch_poll_views(id, watch_events_per_poll_max, budget, event_sink{watcher, encoder, response});
    if (!polled.ok()) return;
    if (polled->compact_revision != 0) {
      *response.mutable_header() = header;
      response.mutable_header()->set_revision(0);  // etcd 3.4's compacted answer has no header revision
      response.set_watch_id(watcher.stream_id);
      response.set_compact_revision(polled->compact_revision);
      response.set_canceled(true);  // no cancel_reason: etcd 3.4 leaves it empty here (v3rpc/watch.go)
      s.call->write_message(response);
      s.forget(id);
      watch_owner_.erase(id);
      watcher_gauge().set(double(store.watcher_count()));
      return;
    }
    if (response.events_size() > 0) {
      *response.mutable_header() = header;
      response.set_watch_id(watcher.stream_id);
      // etcd's watch server splits at MaxRequestBytes + grpcOverheadBytes (2 MiB by default).
      write_fragmented(*s.call, response,
                       member_.config().max_request_bytes + net::grpc::server_limits{}.grpc_overhead_bytes);
    } else if (encoder.event_count() > 0) {
      s.call->write(encoder.bytes());
    }
    if (response.events_size() > 0 || encoder.event_count() > 0) watcher.events_sent_this_interval = true;
    more = polled->more;
  }
  observe_queued(s);
}

size_t watch_service::observe_queued(watch_stream& s) {
  const size_t now = s.call && s.call->alive() ? s.call->queued_output_bytes() : 0;
  watch_connection& connection = *s.connection;
  assert(connection.queued_bytes >= s.queued_seen);
  connection.queued_bytes = connection.queued_bytes - s.queued_seen + now;
  if (now != s.queued_seen) watch_queued_bytes_gauge().add(double(now) - double(s.queued_seen));
  s.queued_seen = now;
  return now;
}

size_t watch_service::poll_budget(watch_stream& s) {
  const size_t queued = observe_queued(s);
  const watch_connection& connection = *s.connection;
  if (connection.queued_bytes <= watch_connection_queued_bytes_limit) {
    return queued < watch_stream_queued_bytes_limit ? watch_poll_bytes_max : 0;
  }
  // The connection is over its limit: each stream only fills up to its share (at least one event).
  const size_t share = std::min(watch_stream_queued_bytes_limit,
                                std::max<size_t>(1, watch_connection_queued_bytes_limit / connection.streams));
  return queued < share ? share - queued : 0;
}

void watch_service::pause_watcher(watch_stream& s, mvcc::watch_id_t id) {
  auto found = s.watchers.find(id);
  assert(found != s.watchers.end());
  member_.store().watch_hold(id);
  if (found->second.paused) return;
  found->second.paused = true;
  s.paused.push_back(id);
  watch_pauses_counter().inc();
  // Paused only with output queued (no budget means queued >= a limit >= 1): the drain callback will run.
  assert(s.queued_seen > 0);
}

void watch_service::on_drained(const std::shared_ptr<watch_stream>& s) {
  if (s->closed) return;
  observe_queued(*s);
  if (s->paused.empty()) return;
  std::vector<mvcc::watch_id_t> resumed;
  resumed.swap(s->paused);
  mvcc::MvccStore& store = member_.store();
  for (mvcc::watch_id_t id : resumed) {
    auto found = s->watchers.find(id);
    if (found == s->watchers.end()) continue;  // canceled meanwhile
    found->second.paused = false;
    store.watch_resume(id);
  }
  pump();
}

}  // namespace ringkv::server
