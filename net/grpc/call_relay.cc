// net/grpc/call_relay.cc — see call_relay.h.
#include "net/grpc/call_relay.h"

#include <cassert>
#include <string>
#include <utility>
#include <vector>

#include "runtime/cancel.h"
#include "runtime/condition.h"
#include "runtime/smp.h"
#include "runtime/spawn.h"
#include "runtime/timer.h"

namespace ringkv::net::grpc {

// server_call's private state, for the relay ends only.
class call_relay_access {
 public:
  static call_ref make_home_call(call_output* output, const method_entry& method, std::string metadata,
                                 uint64_t connection_key) {
    call_ref call(new server_call(output, 0, 0));
    call->method_ = &method;
    call->metadata_ = std::move(metadata);
    call->connection_key_ = connection_key;
    call->headers_sent_ = true;  // nothing to send: the connection's call sends the headers
    return call;
  }
  static const std::string& metadata(const server_call& call) { return call.metadata_; }
  static server_call::stream_callbacks& callbacks(server_call& call) { return call.callbacks_; }
  static std::function<void()>& on_drained(server_call& call) { return call.on_drained_; }
  static outbound_bytes& out(server_call& call) { return call.out_; }
  static const status& trailer_status(const server_call& call) { return call.trailer_status_; }
  static size_t& relayed_backlog_bytes(server_call& call) { return call.relayed_backlog_bytes_; }
  static void mark_closed(server_call& call) { call.closed_ = true; }
  static void detach(server_call& call) { call.output_ = nullptr; }

  // Appends already length-prefixed messages to a connection's call (a move when its queue is empty).
  static bool write_framed(server_call& call, std::string&& framed) {
    if (!call.alive()) return false;
    call.output_->on_reserve(call, framed.size());
    if (call.out_.pending() == 0) {
      call.out_.bytes = std::move(framed);
      call.out_.sent = 0;
    } else {
      call.out_.bytes.append(framed);
    }
    return call.queue_output();
  }
};

namespace {

using access = call_relay_access;

class home_end;
class conn_end;

// What a connection end says in one loop turn.
struct to_home {
  bool open = false;  // first item: create the home call and run the handler
  uint64_t connection_key = 0;  // (with open) the connection's call's key
  bool has_request = false;
  std::string metadata;
  std::string request;
  std::vector<std::string> messages;  // client stream messages, in order
  bool half_close = false;
  bool has_drained = false;
  uint64_t drained_total_bytes = 0;  // the connection's call took everything up to here
  bool final = false;                // nothing more comes from this end
  bool cancel = false;               // (with final) the client or the connection went away
};

// What a home end says in one loop turn.
struct to_conn {
  std::string bytes;  // length-prefixed messages
  bool finish = false;
  status result;
  bool final = false;
};

struct home_item {
  home_end* target;
  to_home data;
};
struct conn_item {
  conn_end* target;
  to_conn data;
};

// One cross-shard message: everything this shard's ends said to one shard during one turn.
struct relay_batch {
  std::vector<home_item> to_home_ends;
  std::vector<conn_item> to_conn_ends;
};

class relay_end {
 public:
  explicit relay_end(unsigned peer_shard) : peer_shard_(peer_shard) {}
  virtual ~relay_end() = default;
  relay_end(const relay_end&) = delete;
  relay_end& operator=(const relay_end&) = delete;

  // Moves what this end has to say into `batch` (called once per flush, only when queued).
  virtual void take_into(relay_batch& batch) = 0;
  // Frees the end once it has sent and received the final items and is not waiting for a flush.
  void free_if_done() {
    if (sent_final_ && received_final_ && !queued_) delete this;
  }

 protected:
  void mark_dirty();  // flush this end at the next turn

  const unsigned peer_shard_;
  bool sent_final_ = false;
  bool received_final_ = false;

 private:
  friend void flush_outbox();
  bool queued_ = false;
};

// Per shard: ends with something to say, by destination shard.
struct outbox {
  std::vector<std::vector<relay_end*>> dirty;
  bool flush_scheduled = false;
  size_t live_ends = 0;
  runtime::condition ends_changed;  // notified when live_ends drops to zero (and when a wait expires)
};
thread_local outbox this_shard_outbox;

void end_born() { ++this_shard_outbox.live_ends; }
void end_gone() {
  outbox& box = this_shard_outbox;
  assert(box.live_ends > 0);
  if (--box.live_ends == 0) box.ends_changed.notify_all();
}

void deliver(relay_batch& batch);

void flush_outbox() {
  outbox& box = this_shard_outbox;
  box.flush_scheduled = false;
  for (unsigned shard = 0; shard < box.dirty.size(); ++shard) {
    if (box.dirty[shard].empty()) continue;
    std::vector<relay_end*> ends = std::move(box.dirty[shard]);
    box.dirty[shard].clear();
    relay_batch batch;
    for (relay_end* end : ends) {
      end->queued_ = false;
      end->take_into(batch);
    }
    if (!batch.to_home_ends.empty() || !batch.to_conn_ends.empty()) {
      runtime::post_to(shard, [batch = std::move(batch)]() mutable { deliver(batch); });
    }
    for (relay_end* end : ends) end->free_if_done();
  }
}

runtime::task<void> flush_soon() {
  flush_outbox();
  co_return;
}

void relay_end::mark_dirty() {
  if (queued_) return;
  assert(peer_shard_ != runtime::this_shard());
  outbox& box = this_shard_outbox;
  if (box.dirty.size() <= peer_shard_) box.dirty.resize(runtime::shard_count());
  queued_ = true;
  box.dirty[peer_shard_].push_back(this);
  if (!box.flush_scheduled) {
    box.flush_scheduled = true;
    runtime::spawn(flush_soon());  // runs after what is ready now: one flush per loop turn
  }
}

// ---- the home end (on the home shard) -----------------------------------------------------------

class home_end final : public relay_end, private call_output {
 public:
  home_end(const method_entry& method, unsigned conn_shard, conn_end* peer)
      : relay_end(conn_shard), method_(method), peer_(peer) {}

  ~home_end() override {
    if (call_) access::detach(*call_);
    end_gone();
  }

  void receive(to_home&& in) {
    if (in.open) open(std::move(in));
    for (const std::string& message : in.messages) {
      auto& callbacks = access::callbacks(*call_);
      if (call_->alive() && callbacks.on_message) callbacks.on_message(message);
    }
    auto& callbacks = access::callbacks(*call_);
    if (in.half_close && call_->alive() && callbacks.on_half_close) callbacks.on_half_close();
    if (in.has_drained) on_remote_drained(in.drained_total_bytes);
    if (in.final) on_peer_final(in.cancel);
  }

  void take_into(relay_batch& batch) override {
    if (sent_final_) return;
    to_conn data;
    outbound_bytes& out = access::out(*call_);
    if (out.pending() > 0) {
      assert(out.sent == 0);
      data.bytes = std::move(out.bytes);
      out.bytes = std::string();
      sent_total_bytes_ += data.bytes.size();
      access::relayed_backlog_bytes(*call_) += data.bytes.size();
    }
    if (call_->finished()) {
      data.finish = true;
      data.result = access::trailer_status(*call_);
      data.final = true;
    }
    if (answer_final_) data.final = true;
    if (data.final) sent_final_ = true;
    batch.to_conn_ends.push_back({peer_, std::move(data)});
  }

 private:
  void open(to_home&& in) {
    end_born();
    call_ = access::make_home_call(this, method_, std::move(in.metadata), in.connection_key);
    if (method_.on_stream) {
      method_.on_stream(call_);
    } else {
      assert(in.has_request);
      method_.on_request(call_, in.request);
    }
  }

  void on_remote_drained(uint64_t drained_total_bytes) {
    assert(drained_total_bytes <= sent_total_bytes_);
    size_t& backlog = access::relayed_backlog_bytes(*call_);
    backlog = size_t(sent_total_bytes_ - drained_total_bytes);
    auto& on_drained = access::on_drained(*call_);
    if (backlog == 0 && call_->alive() && on_drained && call_->queued_output_bytes() == 0) on_drained();
  }

  void on_peer_final(bool cancelled) {
    received_final_ = true;
    const bool was_finished = call_->finished();
    access::mark_closed(*call_);  // writes from now on are refused
    if (cancelled && !was_finished) {
      auto& callbacks = access::callbacks(*call_);
      if (callbacks.on_cancel) {
        auto on_cancel = std::move(callbacks.on_cancel);
        on_cancel();
      }
    }
    if (!sent_final_) {
      answer_final_ = true;
      mark_dirty();
    }
    free_if_done();
  }

  // call_output: R's writes and finish go out at the next flush.
  void on_reserve(server_call&, size_t) override {}
  void on_queued(server_call&) override { mark_dirty(); }
  void on_finish(server_call&) override { mark_dirty(); }

  const method_entry& method_;
  conn_end* const peer_;
  call_ref call_;  // R, from open() until this end is freed
  uint64_t sent_total_bytes_ = 0;
  bool answer_final_ = false;  // the peer's final came first: say "done"
};

// ---- the connection end (on the connection's shard) ---------------------------------------------

class conn_end final : public relay_end {
 public:
  conn_end(const call_ref& call, unsigned home_shard) : relay_end(home_shard), call_(call) {
    end_born();
  }

  ~conn_end() override {
    // Never called from inside one of C's callbacks (only from a flush or a delivery).
    access::callbacks(*call_) = {};
    call_->set_drain_callback(nullptr);
    end_gone();
  }

  // Opens the home end and sends it the call (and its request, for request methods).
  void open(const method_entry& home_method, const std::string_view* request) {
    peer_ = new home_end(home_method, runtime::this_shard(), this);
    pending_.open = true;
    pending_.metadata = access::metadata(*call_);
    pending_.connection_key = call_->connection_key();
    if (request != nullptr) {
      pending_.has_request = true;
      pending_.request.assign(request->data(), request->size());
    }
    call_->set_drain_callback([this] { on_local_drained(); });
    mark_dirty();
  }

  void on_message(std::string_view message) {
    if (ended()) return;
    pending_.messages.emplace_back(message);
    mark_dirty();
  }
  void on_half_close() {
    if (ended()) return;
    pending_.half_close = true;
    mark_dirty();
  }
  void on_local_cancel() {
    if (ended()) return;
    pending_.final = pending_.cancel = true;
    mark_dirty();
  }

  void receive(to_conn&& in) {
    if (!in.bytes.empty()) {
      received_total_bytes_ += in.bytes.size();
      access::write_framed(*call_, std::move(in.bytes));
    }
    if (in.finish && call_->alive()) call_->finish(in.result);
    if (in.final) {
      received_final_ = true;
      if (!ended()) {
        pending_.final = true;  // done
        mark_dirty();
      }
    } else if (!call_->alive()) {
      on_local_cancel();  // C ended here (the session finished it, or the connection is gone)
    }
    free_if_done();
  }

  void take_into(relay_batch& batch) override {
    if (sent_final_) return;
    if (pending_.final) sent_final_ = true;
    batch.to_home_ends.push_back({peer_, std::move(pending_)});
    pending_ = to_home{};
  }

 private:
  bool ended() const { return sent_final_ || pending_.final; }

  void on_local_drained() {
    if (ended()) return;
    pending_.has_drained = true;
    pending_.drained_total_bytes = received_total_bytes_;
    mark_dirty();
  }

  call_ref call_;  // C
  home_end* peer_ = nullptr;
  to_home pending_;
  uint64_t received_total_bytes_ = 0;
};

void deliver(relay_batch& batch) {
  for (home_item& item : batch.to_home_ends) item.target->receive(std::move(item.data));
  for (conn_item& item : batch.to_conn_ends) item.target->receive(std::move(item.data));
}

void open_request_relay(const call_ref& call, const method_entry& home_method, unsigned home_shard,
                        std::string_view request) {
  auto* end = new conn_end(call, home_shard);
  call->set_cancel_callback([end] { end->on_local_cancel(); });
  end->open(home_method, &request);
}

void open_stream_relay(const call_ref& call, const method_entry& home_method, unsigned home_shard) {
  auto* end = new conn_end(call, home_shard);
  server_call::stream_callbacks callbacks;
  callbacks.on_message = [end](std::string_view message) { end->on_message(message); };
  callbacks.on_half_close = [end] { end->on_half_close(); };
  callbacks.on_cancel = [end] { end->on_local_cancel(); };
  call->set_stream_callbacks(std::move(callbacks));
  end->open(home_method, nullptr);
}

}  // namespace

service_registry make_relay_registry(const service_registry& home, unsigned home_shard) {
  service_registry relay;
  relay.set_observer(home.observer());  // calls are counted here, on the connection's shard, only
  home.for_each_method([&](const method_entry& entry) {
    const method_entry* target = &entry;
    if (entry.on_stream) {
      relay.add_stream_method(entry.path, [target, home_shard](const call_ref& call) {
        open_stream_relay(call, *target, home_shard);
      }, entry.type);
    } else {
      relay.add_request_method(entry.path, [target, home_shard](const call_ref& call, std::string_view request) {
        open_request_relay(call, *target, home_shard, request);
      }, entry.type);
    }
    assert(relay.find(entry.path)->id == entry.id && "same ids as home: for_each_method runs in id order");
  });
  return relay;
}

size_t live_relay_ends() { return this_shard_outbox.live_ends; }

runtime::task<bool> wait_for_no_relay_ends(std::chrono::milliseconds limit) {
  if (this_shard_outbox.live_ends == 0) co_return true;
  outbox& box = this_shard_outbox;
  co_return co_await box.ends_changed.wait_until([&] { return box.live_ends == 0; }, runtime::clock::now() + limit);
}

}  // namespace ringkv::net::grpc
