// watch / watch-latency drivers (see watch_workloads.h).
#include "bench/loadgen/watch_workloads.h"

#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "bench/loadgen/cpu_clock.h"
#include "bench/loadgen/key_gen.h"
#include "bench/loadgen/request_loop.h"
#include "etcd/rpc.pb.h"
#include "runtime/timer.h"
#include "runtime/when_all.h"

namespace ringkv::bench {
namespace {

// How long to wait for events still in flight once the last put was answered.
constexpr std::chrono::seconds event_drain_timeout{10};
constexpr std::chrono::milliseconds event_drain_poll{1};
constexpr size_t timestamp_bytes = sizeof(int64_t);

int64_t now_ns() { return bench_clock::now().time_since_epoch().count(); }

void stamp_value(std::string& value) {
  const int64_t stamp = now_ns();
  std::memcpy(value.data(), &stamp, timestamp_bytes);
}

bool read_stamp(const std::string& value, int64_t& stamp) {
  if (value.size() < timestamp_bytes) return false;
  std::memcpy(&stamp, value.data(), timestamp_bytes);
  return true;
}

struct watch_plan {
  std::vector<std::string> keys;
  std::vector<std::vector<uint32_t>> stream_keys;  // per stream: indices into keys, one per watch
  std::vector<client::grpc_connection*> stream_clients;        // per stream
  std::vector<client::grpc_connection*> put_clients;
  uint64_t put_total = 0;
  uint64_t put_rate = 0;
  uint32_t value_bytes = timestamp_bytes;
  uint64_t expected_events = 0;
};

watch_plan plan_watch(const bench_options& o, connection_set& connections) {
  watch_plan plan;
  key_picker picker(o.key_space_size, o.sequential_keys, 0x3a7c);
  plan.keys.resize(o.watched_key_total);
  for (uint32_t i = 0; i < o.watched_key_total; ++i) make_etcd_key(plan.keys[i], o.key_size, picker.pick(i));
  // Keys may repeat (key space smaller than the watched-key total): count watchers per distinct key.
  std::map<std::string, uint64_t> watchers_per_key;
  for (uint32_t s = 0; s < o.streams; ++s) {
    plan.stream_clients.push_back(connections.clients[s % connections.clients.size()].get());
    auto& indices = plan.stream_keys.emplace_back();
    for (uint32_t j = 0; j < o.watch_per_stream; ++j) {
      const auto key = static_cast<uint32_t>((uint64_t{s} * o.watch_per_stream + j) % plan.keys.size());
      indices.push_back(key);
      ++watchers_per_key[plan.keys[key]];
    }
  }
  for (uint32_t c = 0; c < o.clients; ++c) plan.put_clients.push_back(connections.clients[c % connections.clients.size()].get());
  plan.put_total = o.put_total;
  plan.put_rate = o.put_rate;
  for (uint64_t i = 0; i < plan.put_total; ++i) plan.expected_events += watchers_per_key[plan.keys[i % plan.keys.size()]];
  return plan;
}

watch_plan plan_watch_latency(const bench_options& o, connection_set& connections) {
  watch_plan plan;
  plan.keys.push_back(random_bytes(o.key_size, 0x1a7e));
  for (uint32_t c = 0; c < o.clients; ++c) {
    plan.stream_clients.push_back(connections.clients[c].get());
    plan.stream_keys.push_back({0});
  }
  plan.put_clients.push_back(connections.clients.back().get());
  plan.put_total = o.total;
  plan.put_rate = o.put_rate;
  plan.value_bytes = std::max<uint32_t>(o.val_size, timestamp_bytes);
  plan.expected_events = plan.put_total * o.clients;
  return plan;
}

// Puts key (index % keys) with the send time in the value.
class stamped_put_source final : public request_source {
 public:
  stamped_put_source(const watch_plan& plan, client::grpc_connection& client) : request_source(client), plan_(plan) {
    request_.mutable_value()->assign(plan.value_bytes, 'v');
  }
  runtime::task<client::status> issue(uint64_t index) override {
    request_.set_key(plan_.keys[index % plan_.keys.size()]);
    stamp_value(*request_.mutable_value());
    client::status status = co_await client_.call(client::rpc_method::put, request_, nullptr);
    co_return status;
  }

 private:
  const watch_plan& plan_;
  etcdserverpb::PutRequest request_;
};

struct watch_stream_state {
  std::unique_ptr<client::grpc_stream> stream;
  bench_result creation;
  bench_result events;
};

struct event_tally {
  uint64_t received = 0;
  bool closing = false;
};

// Opens the stream and creates its watches one after another, timing each creation.
runtime::task<int> create_watches(const watch_plan& plan, size_t s, watch_stream_state& state) {
  state.stream = co_await plan.stream_clients[s]->open_stream(client::rpc_method::watch);
  if (!state.stream) {
    state.creation.record_error(grpc_code::unavailable, "could not open a Watch stream");
    co_return 1;
  }
  etcdserverpb::WatchRequest request;
  etcdserverpb::WatchResponse response;
  for (uint32_t key : plan.stream_keys[s]) {
    request.mutable_create_request()->set_key(plan.keys[key]);
    const auto started = bench_clock::now();
    client::status status = co_await state.stream->send(request);
    while (status.ok()) {
      status = co_await state.stream->receive(response);
      if (!status.ok() || response.created()) break;
    }
    if (!status.ok()) {
      state.creation.record_error(status.code, status.message);
      co_return 1;
    }
    if (response.canceled()) {
      state.creation.record_error(grpc_code::failed_precondition, "watch canceled: " + response.cancel_reason());
      continue;
    }
    state.creation.latencies.record(bench_clock::now() - started);
  }
  co_return 0;
}

// Receives events until the stream is closed, timing each from the stamp in its value.
runtime::task<int> receive_events(watch_stream_state& state, event_tally& tally, progress_counters& progress) {
  etcdserverpb::WatchResponse response;
  for (;;) {
    client::status status = co_await state.stream->receive(response);
    if (!status.ok()) {
      if (!tally.closing) state.events.record_error(status.code, status.message);
      co_return 0;
    }
    const int64_t arrived = now_ns();
    for (const auto& event : response.events()) {
      int64_t stamp = 0;
      if (event.type() != mvccpb::Event::PUT || !read_stamp(event.kv().value(), stamp)) continue;
      state.events.latencies.record(std::chrono::nanoseconds(arrived - stamp));
      ++tally.received;
      progress.done.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

runtime::task<int> put_loop(run_plan& plan, request_source& source, bench_result& stats) {
  co_await request_loop(plan, source, stats);
  co_return 0;
}

// Runs the puts, waits (bounded) for the events still on their way, then closes every stream, which
// ends the receivers.
runtime::task<int> drive_puts(const watch_plan& plan, run_plan& put_plan,
                              std::vector<std::unique_ptr<request_source>>& sources,
                              std::vector<bench_result>& put_stats, std::vector<watch_stream_state>& streams,
                              event_tally& tally, bench_result& puts, bench_result& events,
                              bench_clock::time_point started) {
  std::vector<runtime::task<int>> putting;
  for (size_t c = 0; c < sources.size(); ++c) putting.push_back(put_loop(put_plan, *sources[c], put_stats[c]));
  co_await runtime::when_all(std::move(putting));
  puts.elapsed = bench_clock::now() - started;
  const auto drain_deadline = bench_clock::now() + event_drain_timeout;
  while (tally.received < plan.expected_events && bench_clock::now() < drain_deadline) {
    co_await runtime::sleep_for(event_drain_poll);
  }
  events.elapsed = bench_clock::now() - started;
  tally.closing = true;
  for (auto& state : streams) {
    if (state.stream) co_await state.stream->close();
  }
  co_return 0;
}

}  // namespace

runtime::task<std::vector<bench_result>> run_watch_workload(const bench_options& options,
                                                             connection_set& connections) {
  const watch_plan plan = options.workload == workload_kind::watch ? plan_watch(options, connections)
                                                                    : plan_watch_latency(options, connections);
  std::vector<watch_stream_state> streams(plan.stream_clients.size());

  // Phase 1: create the watches.
  const auto creation_started = bench_clock::now();
  std::vector<runtime::task<int>> creating;
  for (size_t s = 0; s < streams.size(); ++s) creating.push_back(create_watches(plan, s, streams[s]));
  co_await runtime::when_all(std::move(creating));
  bench_result creation;
  creation.title = "Watch creation summary";
  creation.workload = workload_name(options.workload);
  creation.elapsed = bench_clock::now() - creation_started;
  for (auto& state : streams) creation.merge(state.creation);

  // Phase 2: put while every stream receives.
  event_tally tally;
  run_plan put_plan(plan.put_total, std::chrono::nanoseconds(0), static_cast<double>(plan.put_rate));
  std::vector<std::unique_ptr<request_source>> put_sources;
  std::vector<bench_result> put_stats(plan.put_clients.size());
  for (client::grpc_connection* client : plan.put_clients) put_sources.push_back(std::make_unique<stamped_put_source>(plan, *client));

  bench_result puts;
  puts.title = "Put summary";
  puts.workload = creation.workload;
  bench_result events;
  events.title = "Watch events received summary";
  events.workload = creation.workload;

  const cpu_meter cpu(options.server_pids);
  const auto started = bench_clock::now();
  {
    progress_counters event_progress;
    progress_line progress(event_progress, plan.expected_events, !options.json && progress_line::stderr_is_terminal());
    put_plan.start(started);
    std::vector<runtime::task<int>> tasks;
    for (auto& state : streams) {
      if (state.stream) tasks.push_back(receive_events(state, tally, event_progress));
    }
    tasks.push_back(drive_puts(plan, put_plan, put_sources, put_stats, streams, tally, puts, events, started));
    co_await runtime::when_all(std::move(tasks));
  }
  events.client_cpu = cpu.client_used();
  events.server_cpu = cpu.servers_used();
  events.server_processes = cpu.server_processes();
  for (auto& stats : put_stats) puts.merge(stats);
  for (auto& state : streams) events.merge(state.events);
  if (tally.received < plan.expected_events) {
    events.record_error(grpc_code::deadline_exceeded, "watch events not received within " +
                                                          std::to_string(event_drain_timeout.count()) + "s");
    events.errors_by_code[grpc_code::deadline_exceeded].count += plan.expected_events - tally.received - 1;
  }
  events.add_counter("events expected", plan.expected_events);
  std::vector<bench_result> results;
  results.push_back(std::move(creation));
  results.push_back(std::move(puts));
  results.push_back(std::move(events));
  for (auto& state : streams) state.stream.reset();
  co_return results;
}

}  // namespace ringkv::bench
