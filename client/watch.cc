// client/watch.cc - the watch hub's pump (watch.h). Per stream, two coroutines:
//
//   pump (sender)                               receiver
//   dial (failover) + open Watch stream  ---->  receive -> deliver to watchers by watch_id
//   send create for each unbound watcher        (pauses while a watcher's buffer is full)
//   send queued cancels, park on wake_          stream ends -> broken = true, wake_ the pump
//   broken: close stream, unbind all, abandon the connection, loop (re-create from next_revision)
//
// `created` replies come in the order the creates were sent (etcd and ringkv handle a stream's
// requests in order), so each binds the oldest entry of awaiting_created_.
#include "client/watch.h"

#include <algorithm>
#include <cassert>

#include "runtime/timer.h"

namespace ringkv::client {

runtime::task<result<watch_batch>> watcher::next(std::chrono::nanoseconds timeout) {
  const auto has_news = [this] { return !batches_.empty() || ended_; };
  bool ready = true;
  if (timeout.count() > 0) {
    ready = co_await changed_.wait_until(has_news, runtime::clock::now() + timeout);
  } else {
    co_await changed_.wait_until(has_news);
  }
  if (!batches_.empty()) {
    result<watch_batch> out{status{}, std::move(batches_.front())};
    batches_.pop_front();
    buffered_events_ -= out.value.events.size();
    hub_.room_.notify();  // the receiver may be waiting for room
    co_return out;
  }
  if (!ready) co_return result<watch_batch>{status{grpc_code::deadline_exceeded, "no watch event in time"}, {}};
  co_return result<watch_batch>{end_, {}};
}

void watcher::cancel() {
  if (ended_) return;
  if (watch_id_ >= 0) hub_.cancels_.push_back(watch_id_);
  hub_.end(*this, status{grpc_code::cancelled, "watch cancelled by the client"});
  hub_.wake_.notify();
}

watch_hub::watch_hub(client& c, size_t stream_inbox_bytes_limit)
    : client_(c), stream_inbox_bytes_limit_(stream_inbox_bytes_limit) {
  const bool started = pump_gate_.spawn(pump());
  assert(started);
  (void)started;
}

watch_hub::~watch_hub() { assert(pump_gate_.closed() && "close() a watch_hub before destroying it"); }

std::shared_ptr<watcher> watch_hub::watch(std::string_view key, const watch_options& options) {
  etcdserverpb::WatchCreateRequest create;
  create.set_key(std::string(key));
  create.set_range_end(options.range_end);
  create.set_start_revision(options.start_revision);
  create.set_prev_kv(options.prev_kv);
  create.set_progress_notify(options.progress_notify);
  if (options.no_put) create.add_filters(etcdserverpb::WatchCreateRequest::NOPUT);
  if (options.no_delete) create.add_filters(etcdserverpb::WatchCreateRequest::NODELETE);
  std::shared_ptr<watcher> w(new watcher(*this, std::move(create)));
  w->next_revision_ = options.start_revision;
  w->events_limit_ = std::max<size_t>(options.events_limit, 1);
  if (closing_) {
    w->ended_ = true;
    w->end_ = status{grpc_code::cancelled, "the watch hub is closed"};
    return w;
  }
  watchers_.push_back(w);
  wake_.notify();
  return w;
}

void watch_hub::end(watcher& w, status why) {
  if (w.ended_) return;
  w.ended_ = true;
  w.end_ = std::move(why);
  w.changed_.notify_all();
  std::erase_if(watchers_, [&](const std::shared_ptr<watcher>& p) { return p.get() == &w; });
}

bool watch_hub::some_watcher_full() const {
  return std::any_of(watchers_.begin(), watchers_.end(),
                     [](const auto& w) { return w->buffered_events_ >= w->events_limit_; });
}

void watch_hub::deliver(const etcdserverpb::WatchResponse& response) {
  const int64_t header_revision = response.header().revision();
  if (!response.created() && response.watch_id() == -1) {  // the answer to request_progress(): no watch id
    for (const auto& w : watchers_) {
      if (w->watch_id_ < 0) continue;
      w->batches_.push_back(watch_batch{{}, header_revision});
      w->changed_.notify_all();
    }
    return;
  }
  if (response.created()) {
    if (awaiting_created_.empty()) return;  // not ours (cannot happen with in-order replies)
    std::shared_ptr<watcher> w = std::move(awaiting_created_.front());
    awaiting_created_.pop_front();
    if (w->ended_) {  // cancelled while its create was in flight
      if (!response.canceled()) cancels_.push_back(response.watch_id());
      return;
    }
    w->watch_id_ = response.watch_id();
    if (w->next_revision_ == 0) w->next_revision_ = header_revision + 1;
    if (!response.canceled()) return;
  }
  auto found = std::find_if(watchers_.begin(), watchers_.end(),
                            [&](const auto& w) { return w->watch_id_ == response.watch_id(); });
  if (found == watchers_.end()) return;  // a watcher cancelled meanwhile
  std::shared_ptr<watcher> w = *found;
  if (response.canceled()) {
    if (response.compact_revision() > 0) {
      w->compact_revision_ = response.compact_revision();
      end(*w, status{grpc_code::out_of_range, "etcdserver: mvcc: required revision has been compacted"});
    } else {
      end(*w, status{grpc_code::cancelled, "watch cancelled by the server: " + response.cancel_reason()});
    }
    return;
  }
  watch_batch batch;
  batch.revision = header_revision;
  for (const auto& event : response.events()) {
    if (event.kv().mod_revision() < w->next_revision_) continue;  // seen before a resume
    batch.events.push_back(event);
  }
  if (response.events_size() == 0) {  // a progress notification vouches for every revision up to it
    w->next_revision_ = std::max(w->next_revision_, header_revision + 1);
  } else if (batch.events.empty()) {
    return;  // only repeats
  } else {
    w->next_revision_ = batch.events.back().kv().mod_revision() + 1;
  }
  w->buffered_events_ += batch.events.size();
  w->batches_.push_back(std::move(batch));
  w->changed_.notify_all();
}

runtime::task<void> watch_hub::serve(grpc_stream& stream) {
  bool broken = false;
  stream_ = &stream;
  runtime::gate receiving;
  const bool started = receiving.spawn([](watch_hub& self, grpc_stream& s, bool& broken_flag) -> runtime::task<void> {
    etcdserverpb::WatchResponse response;
    while (true) {
      while (self.some_watcher_full() && !self.closing_ && self.stream_ == &s) co_await self.room_;
      const status received = co_await s.receive(response);
      if (!received.ok()) break;
      self.deliver(response);
    }
    broken_flag = true;
    self.wake_.notify();
  }(*this, stream, broken));
  assert(started);
  (void)started;
  while (!broken && !closing_) {
    for (const auto& w : watchers_) {
      if (w->watch_id_ >= 0 || std::find(awaiting_created_.begin(), awaiting_created_.end(), w) != awaiting_created_.end()) {
        continue;
      }
      etcdserverpb::WatchRequest request;
      *request.mutable_create_request() = w->create_;
      request.mutable_create_request()->set_start_revision(w->next_revision_);
      if (!(co_await stream.send(request)).ok()) break;
      awaiting_created_.push_back(w);
    }
    for (const int64_t id : std::exchange(cancels_, {})) {
      etcdserverpb::WatchRequest request;
      request.mutable_cancel_request()->set_watch_id(id);
      if (!(co_await stream.send(request)).ok()) break;
    }
    if (std::exchange(progress_wanted_, false)) {
      etcdserverpb::WatchRequest request;
      request.mutable_progress_request();
      if (!(co_await stream.send(request)).ok()) break;
    }
    if (!broken && !closing_) co_await wake_;
  }
  co_await stream.close();
  stream_ = nullptr;
  room_.notify();  // a receiver paused for room must see the stream end
  co_await receiving.close();
}

runtime::task<void> watch_hub::pump() {
  while (!closing_) {
    if (watchers_.empty()) {
      co_await wake_;
      continue;
    }
    co_await client_.serve_stream(rpc_method::watch, [this](grpc_stream& stream) { return serve(stream); }, &closing_,
                                  stream_inbox_bytes_limit_);
    // The stream ended: every watch is unbound and re-created from its next revision on the next one.
    for (const auto& w : watchers_) w->watch_id_ = -1;
    awaiting_created_.clear();
    cancels_.clear();
    if (!closing_) co_await runtime::sleep_for(client_.config().failover_pause, pump_cancel_.token());
  }
}

void watch_hub::request_progress() {
  progress_wanted_ = true;
  wake_.notify();
}

runtime::task<void> watch_hub::close() {
  if (closing_) co_return;
  closing_ = true;
  while (!watchers_.empty()) end(*watchers_.front(), status{grpc_code::cancelled, "the watch hub is closed"});
  pump_cancel_.cancel();
  wake_.notify();
  co_await pump_gate_.close();
}

}  // namespace ringkv::client
