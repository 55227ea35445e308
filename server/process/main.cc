// server/process/main.cc — the `ringkv` executable: parses flags/ETCD_* variables, opens the data dir and its
// WAL (replaying it: every acknowledged write comes back), serves etcd's v3 API on the client URLs, and
// shuts down cleanly on SIGTERM/SIGINT (connections ended, node stopped, WAL closed after its last sync).
// Under systemd (Type=notify) it reports READY=1, WATCHDOG=1 and STOPPING=1 (systemd_lifecycle.h).
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/peer/peer_transport.h"
#include "server/common/peer_tls.h"
#include "runtime/reactor.h"
#include "runtime/spawn.h"
#include "runtime/timer.h"
#include "runtime/when_all.h"
#include "server/bootstrap/initial_cluster.h"
#include "server/process/cluster_bootstrap.h"
#include "server/process/data_dir_guard.h"
#include "server/process/descriptor_limit.h"
#include "server/process/ringkv_version.h"
#include "server/process/snapshot_command.h"
#include "server/process/systemd_lifecycle.h"
#include "server/process/systemd_notify.h"
#include "server/common/config.h"
#include "server/api/etcd_server.h"
#include "server/auth/jwt_tokens.h"
#include "server/replica/raft_payload.h"
#include "runtime/log.h"
#include "runtime/log_writer.h"
#include "server/common/grpc_metrics.h"
#include "server/common/server_metrics.h"
#include "server/frontend/shard_ports.h"

namespace {

using namespace ringkv;
using namespace ringkv::server;

// Client connections wait in the listeners' backlog until the member is ready (published and caught up
// with its cluster: etcd_server::wait_ready), as etcd serves clients only after ReadyNotify: a
// restarted member must not answer at an older revision than it answered before.
runtime::task<void> serve_clients_when_ready(etcd_server& server, shard_ports& ports) {
  bool ready = co_await server.wait_ready();
  if (ready) co_await ports.serve();
}

constexpr const char* ringkv_version = "0.1.0";

bool make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) == 0 || errno == EEXIST) return true;
  log::error("cannot create directory", {{"path", path}, {"error", std::strerror(errno)}});
  return false;
}

std::vector<std::string> url_texts(const std::vector<url_endpoint>& urls) {
  std::vector<std::string> texts;
  for (const auto& url : urls) texts.push_back(url.url);
  return texts;
}

// etcd's "starting an etcd server" line: every setting's effective value (defaults filled in), one line.
void log_starting(const server_config& config) {
  std::string initial_cluster;  // "name=url,name=url" as the flag is written
  for (const auto& [name, peer_urls] : config.initial_cluster)
    for (const auto& url : peer_urls) initial_cluster += (initial_cluster.empty() ? "" : ",") + name + "=" + url;
  const bool periodic = config.auto_compaction_mode == compaction_mode::periodic;
  log::info("starting an etcd server",
            {{"ringkv-version", ringkv_version}, {"git-sha", ringkv_git_revision}, {"etcd-api-version", "3.4"},
             {"shards", uint64_t(config.shards == 0 ? runtime::shard_count() : config.shards)},
             {"io-backend", runtime::to_string(runtime::active_io_backend())},
             {"name", config.name}, {"data-dir", config.data_dir},
             {"wal-dir", config.data_dir + "/member/wal"}, {"member-dir", config.data_dir + "/member"},
             {"heartbeat-interval-ms", int64_t(config.heartbeat_interval.count())},
             {"election-timeout-ms", int64_t(config.election_timeout.count())},
             {"snapshot-count", config.snapshot_count},
             {"initial-advertise-peer-urls", url_texts(config.initial_advertise_peer_urls)},
             {"listen-peer-urls", url_texts(config.listen_peer_urls)},
             {"advertise-client-urls", url_texts(config.advertise_client_urls)},
             {"listen-client-urls", url_texts(config.listen_client_urls)},
             {"initial-cluster", initial_cluster},
             {"initial-cluster-state",
              config.initial_cluster_state == cluster_state::new_cluster ? "new" : "existing"},
             {"initial-cluster-token", config.initial_cluster_token},
             {"quota-size-bytes", config.effective_quota_bytes()},
             {"max-request-bytes", config.max_request_bytes}, {"max-txn-ops", config.max_txn_ops},
             {"max-concurrent-streams", config.max_concurrent_streams},
             {"auto-compaction-mode", periodic ? "periodic" : "revision"},
             {"auto-compaction-retention", config.auto_compaction_retention},
             {"watch-progress-notify-interval-ms", int64_t(config.watch_progress_notify_interval.count())},
             {"wal-sync-delay-ms", int64_t(config.wal_sync_delay.count())},
             {"log-level", log::to_string(config.level)}});
}

// --log-outputs: every output opened (files appended to, journald dialled as etcd does), then the log
// goes to all of them from runtime/log_writer.h's writer thread. False (logged to stderr) when one fails.
bool open_log_outputs(const std::vector<log_destination>& destinations, const std::string& program) {
  std::vector<std::unique_ptr<log::log_output>> outputs;
  for (const auto& destination : destinations) {
    switch (destination.to) {
      case log_destination::kind::standard_error: outputs.push_back(std::make_unique<log::fd_log_output>(2, false)); break;
      case log_destination::kind::standard_output: outputs.push_back(std::make_unique<log::fd_log_output>(1, false)); break;
      case log_destination::kind::file: {
        int fd = ::open(destination.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (fd < 0) {
          log::error("cannot open the log output", {{"log-outputs", destination.path}, {"error", std::strerror(errno)}});
          return false;
        }
        outputs.push_back(std::make_unique<log::fd_log_output>(fd, true));  // open for the life of the process
        break;
      }
      case log_destination::kind::journal: {
        std::string error;
        auto journal = log::journal_log_output::open(log::journal_socket_path, program, error);
        if (!journal) {  // etcd 3.4: "error verifying flags, can't find journal (dial unixgram ...)", exit 1
          log::error("error verifying flags", {{"error", "can't find journal (" + error + ")"}});
          return false;
        }
        outputs.push_back(std::move(journal));
        break;
      }
    }
  }
  log::set_outputs(std::move(outputs));
  log::start_background_writer();  // drained at exit
  return true;
}

// `preset_identity`: the ids decided before start-up (DNS SRV: initial_cluster.h); otherwise the flags give them.
runtime::task<int> serve(const server_config& config, const systemd_notifier& systemd,
                        const std::optional<member_identity>& preset_identity) {
  log_starting(config);
  std::string peer_tls_error;  // files checked at start, as etcd does, even before the peers start
  const std::optional<net::peer::peer_tls_setup> peer_tls = make_peer_tls(config, peer_tls_error);
  if (!peer_tls_error.empty()) {
    log::error("cannot set up peer TLS", {{"error", peer_tls_error}});
    co_return 1;
  }
  if (!config.auth_jwt.sign_method.empty()) {  // key files checked at start, as etcd's NewTokenProvider
    if (auto keys = auth::jwt_tokens::load(config.auth_jwt); !keys.tokens) {
      log::error("failed to create token provider", {{"error", keys.error}});
      co_return 1;
    }
  }
  // Nothing in the data dir is created, changed or removed before it is known to be ringkv's.
  if (!make_dir(config.data_dir) || !claim_data_dir(config.data_dir)) co_return 1;
  if (!make_dir(config.data_dir + "/member")) co_return 1;
  storage::wal::wal_config wal_config;
  wal_config.dir = config.data_dir + "/member/wal";
  wal_config.sync_delay_for_tests = config.wal_sync_delay;
  // One raft entry carries a whole request: --max-request-bytes must fit the WAL's largest entry.
  if (const uint64_t fits = wal_config.entry_payload_bytes_max() - payload_header_bytes; config.max_request_bytes > fits) {
    log::error("--max-request-bytes is above the largest request one WAL entry can hold; lower it",
               {{"max-request-bytes", config.max_request_bytes}, {"largest", fits}});
    co_return 1;
  }
  wal_config.on_fdatasync = [](const storage::wal::fdatasync_observation& sync) {
    node_metrics().wal_fsync_seconds.observe(std::chrono::duration<double>(sync.duration).count());
  };
  std::unique_ptr<storage::wal::write_ahead_log> wal;
  storage::wal::recovered_state recovered;
  try {
    auto opened = co_await storage::wal::write_ahead_log::open(wal_config);
    wal = std::move(opened.log);
    recovered = std::move(opened.recovered);
  } catch (const std::exception& error) {
    log::error("cannot open the WAL", {{"dir", wal_config.dir}, {"error", error.what()}});
    co_return 1;
  }
  log::info("opened WAL", {{"dir", wal_config.dir}, {"entries", uint64_t(recovered.entries.size())},
                           {"term", recovered.state.term}, {"commit", recovered.state.commit}});

  std::optional<storage::wal::snapshot_store> snapshots;
  std::optional<storage::wal::loaded_snapshot> snapshot;
  std::unique_ptr<etcd_server> server_owner;
  member_identity identity = preset_identity ? *preset_identity : derive_identity(config);
  bool fresh = recovered.entries.empty() && recovered.state.term == 0;
  if (auto problem = check_cluster_flags(config, identity, fresh); !problem.empty()) {
    log::error("invalid cluster flags", {{"error", problem}});
    co_await wal->close();
    co_return 1;
  }
  try {
    storage::wal::snapshot_config snapshot_config;  // a named variable: g++ 12 mishandles braced
    snapshot_config.dir = config.data_dir + "/member/snap";  // temporaries passed to coroutines
    snapshots.emplace(co_await storage::wal::snapshot_store::open(snapshot_config));
    snapshot = co_await snapshots->load_newest();
    if (snapshot) log::info("loaded snapshot", {{"index", snapshot->id.index}, {"term", snapshot->id.term}});
    server_owner = std::make_unique<etcd_server>(config, identity, *wal, *snapshots, std::move(recovered),
                                                 std::move(snapshot));
  } catch (const std::exception& error) {
    log::error("cannot recover the member's state", {{"data-dir", config.data_dir}, {"error", error.what()}});
  }
  if (!server_owner) {
    co_await wal->close();
    if (snapshots) co_await snapshots->close();
    co_return 1;
  }
  etcd_server& server = *server_owner;
  net::grpc::service_registry registry;
  server.register_services(registry);
  grpc_call_metrics grpc_metrics(registry);  // grpc_server_started/handled_total, where each connection is
  registry.set_observer(&grpc_metrics);
  shard_ports ports(config, server, registry);
  const bool ports_open = co_await ports.open();
  if (!ports_open) {
    co_await ports.close();
    co_await ports.finish();
    co_await wal->close();
    co_await snapshots->close();
    co_return 1;
  }

  std::unique_ptr<net::peer::peer_transport> peers;
  bool peers_failed = false;
  if (identity.multi_member() || server.member().has_other_members()) {  // the latter: it grew, then restarted
    peers = start_peers(config, identity, server, peer_tls);
    if (!peers) {
      co_await ports.close();
      co_await ports.finish();
      co_await wal->close();
      co_await snapshots->close();
      co_return 1;
    }
  } else {  // started alone: listen on the peer URL once `member add` grows the cluster (or it had grown)
    server.member().start_peers_when_needed([&config, &identity, &server, &peers, &peers_failed, &peer_tls] {
      peers = start_peers(config, identity, server, peer_tls);
      if (peers) return;
      peers_failed = true;  // the new member could never be reached: stop, as etcd cannot start without it
      runtime::request_stop();
    });
  }

  runtime::task_group group;
  group.spawn(server.run());
  group.spawn(serve_clients_when_ready(server, ports));
  runtime::cancel_source watchdog_stop;
  if (systemd.enabled()) group.spawn(notify_ready_when_serving(systemd, server));
  if (auto interval = systemd.watchdog_ping_interval()) group.spawn(feed_watchdog(systemd, *interval, watchdog_stop.token()));
  std::vector<std::string> urls;
  for (const auto& url : config.listen_client_urls) urls.push_back(url.url);
  log::info("serving etcd v3 gRPC (KV, Watch, Lease, Cluster, Maintenance, Lock, Election) and HTTP /health /version /metrics /v3 JSON gateway",
            {{"name", config.name}, {"data-dir", config.data_dir}, {"listen-client-urls", urls},
             log::hex_id("member-id", server.member().driver().id()), {"shards", uint64_t(runtime::shard_count())}});

  co_await runtime::wait_for_stop();
  log::info("received stop request; shutting down", {{"open-connections", uint64_t(ports.open_connections())}});
  systemd.notify("STOPPING=1");
  watchdog_stop.cancel();
  co_await ports.close();
  server.stop();
  co_await group.wait();
  co_await ports.finish();
  if (peers) co_await peers->stop();
  co_await wal->close();
  co_await snapshots->close();
  log::info("stopped; WAL closed", {{"name", config.name}});
  co_return peers_failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  if (args.size() > 1 && args[1] == "snapshot") return run_snapshot_command({args.begin() + 2, args.end()});
  config_parse_result parsed = parse_config(args, environment_from_process());
  if (parsed.show_help) {
    std::fputs(config_help_text().c_str(), stdout);
    return 0;
  }
  if (parsed.show_version) {
    std::printf("ringkv Version: %s\nGit SHA: %s\netcd API Version: %s\n", ringkv_version, ringkv_git_revision,
                "3.4");
    return 0;
  }
  const std::string program = args[0].substr(args[0].rfind('/') + 1);  // etcd: filepath.Base(os.Args[0])
  if (parsed.config && !open_log_outputs(parsed.config->log_outputs, program)) return 1;
  for (const auto& warning : parsed.warnings) log::warn(warning);
  if (!parsed.config) {
    log::error("error verifying flags", {{"error", parsed.error}, {"help", "see 'ringkv --help'"}});
    return 2;
  }
  log::set_level(parsed.config->level);
  raise_descriptor_limit();
  // --discovery / --discovery-srv: the initial cluster is found before the runtime starts (blocking).
  initial_cluster_plan plan = plan_initial_cluster(*parsed.config);
  if (!plan.config) {
    log::error("cannot bootstrap the cluster", {{"error", plan.error}});
    return 1;
  }
  const server_config config = std::move(*plan.config);
  const std::optional<member_identity> preset_identity = std::move(plan.identity);
  if (!config.config_file.empty()) log::info("loaded server configuration", {{"path", config.config_file}});
  const systemd_notifier systemd = systemd_notifier::from_environment(environment_from_process());
  runtime::reactor_config reactor;
  reactor.shards = config.shards;  // shard 0: the raft group; every shard: client connections
  reactor.backend = config.io_backend;
  try {
    return runtime::run(reactor, [&config, &systemd, &preset_identity]() { return serve(config, systemd, preset_identity); });
  } catch (const std::exception& error) {
    log::error("cannot start the runtime", {{"error", error.what()}});
    return 1;
  }
}
