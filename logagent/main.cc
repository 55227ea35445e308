// logagent/main.cc - ringkv-logagent: flags, the wiring of client + agent + sink, and shutdown.
//
//   ringkv-logagent --endpoints 127.0.0.1:2379 [--host NAME] --sink kafka:BROKERS|file:PATH
//                   --state-dir DIR [--metrics-addr 127.0.0.1:PORT] [--poll-ms 100] [--log-level info]
//                   [--max-in-flight-records 10000]  (records sent and not yet acknowledged; 32 MiB cap too)
// SIGTERM / SIGINT: stop reading, wait (up to 10 s) for the sink to acknowledge what was sent, save the
// offsets durably, exit 0. A fatal Kafka error: the same, exit 1.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "client/client.h"
#include "client/watch.h"
#include "logagent/agent.h"
#include "logagent/config_watch.h"
#include "logagent/file_sink.h"
#include "logagent/kafka_sink.h"
#include "logagent/metrics_server.h"
#include "runtime/gate.h"
#include "runtime/log.h"
#include "runtime/reactor.h"
#include "runtime/timer.h"

namespace ringkv::logagent {
namespace {

using namespace std::chrono_literals;
constexpr int shutdown_drain_ms = 10000;
constexpr int metrics_bind_attempts = 50;  // 100 ms apart

struct options {
  std::vector<client::endpoint> endpoints;
  std::string host;
  std::string sink;
  std::string state_dir;
  std::string metrics_addr;
  int poll_ms = 100;
  size_t in_flight_records = 10000;  // in_flight_budget::records_limit
  int pause_after_get_ms = 0;  // RINGKV_LOGAGENT_TEST_PAUSE_AFTER_GET_MS (tests only)
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "ringkv-logagent: %s\nusage: ringkv-logagent --endpoints IP:PORT[,IP:PORT...] [--host NAME]\n"
               "  --sink kafka:BROKERS|file:PATH --state-dir DIR [--metrics-addr IP:PORT] [--poll-ms N]\n"
               "  [--max-in-flight-records N]\n"
               "  [--log-level debug|info|warn|error]\n",
               why.c_str());
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) usage(flag + " needs a value");
    const std::string value = argv[++i];
    if (flag == "--endpoints") {
      size_t start = 0;
      while (start <= value.size()) {
        const size_t comma = value.find(',', start);
        const std::string item = value.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        const size_t colon = item.rfind(':');
        if (colon == std::string::npos) usage("--endpoints: not IP:PORT: " + item);
        o.endpoints.push_back({item.substr(0, colon), static_cast<uint16_t>(std::atoi(item.c_str() + colon + 1))});
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    } else if (flag == "--host") {
      o.host = value;
    } else if (flag == "--sink") {
      o.sink = value;
    } else if (flag == "--state-dir") {
      o.state_dir = value;
    } else if (flag == "--metrics-addr") {
      o.metrics_addr = value;
    } else if (flag == "--poll-ms") {
      o.poll_ms = std::atoi(value.c_str());
      if (o.poll_ms < 1 || o.poll_ms > 10000) usage("--poll-ms: 1..10000");
    } else if (flag == "--max-in-flight-records") {
      o.in_flight_records = static_cast<size_t>(std::atol(value.c_str()));
      if (o.in_flight_records < 1 || o.in_flight_records > 1000000) usage("--max-in-flight-records: 1..1000000");
    } else if (flag == "--log-level") {
      auto level = log::parse_log_level(value);
      if (!level) usage("--log-level: unknown level " + value);
      log::set_level(*level);
    } else {
      usage("unknown flag " + flag);
    }
  }
  if (o.endpoints.empty()) usage("--endpoints is required");
  if (o.state_dir.empty()) usage("--state-dir is required");
  if (!o.sink.starts_with("kafka:") && !o.sink.starts_with("file:")) usage("--sink kafka:BROKERS or file:PATH");
  if (o.host.empty()) {
    char name[256] = {};
    ::gethostname(name, sizeof(name) - 1);
    o.host = name;
  }
  if (o.host.empty() || o.host.find('/') != std::string::npos) usage("--host: a name without '/'");
  if (const char* pause = std::getenv("RINGKV_LOGAGENT_TEST_PAUSE_AFTER_GET_MS")) o.pause_after_get_ms = std::atoi(pause);
  return o;
}

runtime::task<void> poll_loop(agent& a, line_sink& sink, std::chrono::milliseconds period, int& exit_code) {
  while (!runtime::stop_requested()) {
    a.poll();
    if (!sink.fatal_error().empty()) {
      exit_code = 1;
      runtime::request_stop();
      break;
    }
    co_await runtime::sleep_for(period);
  }
}

runtime::task<int> run_agent(const options& o) {
  offset_store store(o.state_dir + "/offsets");
  std::string error;
  if (!store.load(error)) {
    log::error("logagent: cannot read offsets", {{"error", error}});
    co_return 1;
  }
  in_flight_budget budget;
  budget.records_limit = o.in_flight_records;
  agent_counters counters;
  std::unique_ptr<line_sink> sink;
  if (o.sink.starts_with("kafka:")) {
    sink = kafka_sink::create(o.sink.substr(6), budget, counters, error);
  } else {
    auto file = std::make_unique<file_sink>(o.sink.substr(5), budget, counters);
    if (file->open(error)) sink = std::move(file);
  }
  if (!sink) {
    log::error("logagent: cannot start the sink", {{"sink", o.sink}, {"error", error}});
    co_return 1;
  }
  agent a(o.host, store, budget, counters, *sink);
  metrics_server metrics;
  if (!o.metrics_addr.empty()) {
    // A predecessor killed a moment ago may still hold the port (an io_uring's requests keep their
    // socket until the kernel has torn the ring down): try again for a while.
    bool listening = metrics.open(o.metrics_addr, error);
    for (int attempt = 0; !listening && attempt < metrics_bind_attempts && !runtime::stop_requested(); ++attempt) {
      co_await runtime::sleep_for(100ms);
      listening = metrics.open(o.metrics_addr, error);
    }
    if (!listening) {
      log::error("logagent: cannot serve metrics", {{"error", error}});
      co_return 1;
    }
  }
  client::client_config config;
  config.endpoints = o.endpoints;
  config.dial_timeout = 1s;
  client::client c(config);
  client::watch_hub hub(c);
  int exit_code = 0;
  runtime::gate tasks;
  (void)tasks.spawn(follow_config(c, hub, a, std::chrono::milliseconds(o.pause_after_get_ms)));
  (void)tasks.spawn(publish_status(c, a, 10s, 2s));
  (void)tasks.spawn(poll_loop(a, *sink, std::chrono::milliseconds(o.poll_ms), exit_code));
  if (metrics.is_open()) {
    (void)tasks.spawn(metrics.serve([&] { return a.metrics_text(); }, [&] { return a.status_json(); }));
  }
  log::info("logagent: started", {{"host", o.host}, {"sink", sink->name()}, {"state_dir", o.state_dir}});
  co_await runtime::wait_for_stop();
  // Stop: no more reading; what was sent gets its acknowledgement (blocking: the runtime refuses new
  // I/O now), then the offsets are saved.
  const int saved = a.drain_and_save(shutdown_drain_ms);
  log::info("logagent: stopping", {{"offsets_saved", saved == 0}, {"unacknowledged", budget.records}});
  if (metrics.is_open()) co_await metrics.close();
  co_await hub.close();
  co_await tasks.close();
  co_await c.close();
  co_return saved == 0 ? exit_code : 1;
}

}  // namespace
}  // namespace ringkv::logagent

int main(int argc, char** argv) {
  const auto o = ringkv::logagent::parse(argc, argv);
  ringkv::runtime::reactor_config config;
  return ringkv::runtime::run(config, [&]() { return ringkv::logagent::run_agent(o); });
}
