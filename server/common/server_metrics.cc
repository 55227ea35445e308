// server/common/server_metrics.cc — registration of server/server_metrics.h's metrics (help texts as etcd's).
#include "server/common/server_metrics.h"

#include <string>

namespace ringkv::server {

server_metrics& node_metrics() {
  auto& r = metrics::global();
  static server_metrics instance{
      r.add_gauge("etcd_server_has_leader", "Whether or not a leader exists. 1 is existence, 0 is not."),
      r.add_gauge("etcd_server_is_leader", "Whether or not this member is a leader. 1 if is, 0 otherwise."),
      r.add_counter("etcd_server_leader_changes_seen_total", "The number of leader changes seen."),
      r.add_gauge("etcd_server_proposals_committed_total", "The total number of consensus proposals committed."),
      r.add_gauge("etcd_server_proposals_applied_total", "The total number of consensus proposals applied."),
      r.add_gauge("etcd_server_proposals_pending", "The current number of pending proposals to commit."),
      r.add_counter("etcd_server_proposals_failed_total", "The total number of failed proposals seen."),
      r.add_gauge("etcd_server_quota_backend_bytes", "Current backend storage quota size in bytes."),
      r.add_counter("etcd_server_read_indexes_failed_total", "The total number of failed read indexes seen."),
      r.add_histogram("etcd_disk_wal_fsync_duration_seconds", "The latency distributions of fsync called by WAL.",
                      metrics::exponential_buckets(0.001, 2, 14)),
      r.add_counter("etcd_disk_wal_write_bytes_total", "Total number of bytes written in WAL."),
      r.add_gauge("etcd_mvcc_db_total_size_in_bytes",
                  "Total size of the underlying database physically allocated in bytes."),
      r.add_gauge("etcd_mvcc_db_total_size_in_use_in_bytes",
                  "Total size of the underlying database logically in use in bytes."),
      r.add_gauge("etcd_debugging_mvcc_db_total_size_in_bytes",
                  "Total size of the underlying database physically allocated in bytes."),
      r.add_counter("etcd_mvcc_put_total", "Total number of puts seen by this member."),
      r.add_counter("etcd_mvcc_delete_total", "Total number of deletes seen by this member."),
      r.add_counter("etcd_mvcc_range_total", "Total number of ranges seen by this member."),
      r.add_counter("etcd_mvcc_txn_total", "Total number of txns seen by this member."),
      r.add_counter("etcd_network_client_grpc_received_bytes_total",
                    "The total number of bytes received from grpc clients."),
      r.add_counter("etcd_network_client_grpc_sent_bytes_total", "The total number of bytes sent to grpc clients."),
      r.add_gauge("etcd_server_id", "Server or member ID in hexadecimal format. 1 for 'server_id' label."),
  };
  return instance;
}

void publish_db_size(int64_t size_bytes) {
  const double bytes = double(size_bytes);
  node_metrics().db_total_size_bytes.set(bytes);
  node_metrics().db_in_use_size_bytes.set(bytes);
  node_metrics().db_total_size_bytes_debugging.set(bytes);
}

metrics::gauge& client_connections_gauge(unsigned shard) {
  return metrics::global().add_gauge("ringkv_client_connections", "Client connections open, per shard.",
                                     {{"shard", std::to_string(shard)}});
}

metrics::counter& grpc_started(std::string_view service, std::string_view method, std::string_view type) {
  return metrics::global().add_counter(
      "grpc_server_started_total", "Total number of RPCs started on the server.",
      {{"grpc_method", std::string(method)}, {"grpc_service", std::string(service)}, {"grpc_type", std::string(type)}});
}

metrics::counter& grpc_handled(std::string_view service, std::string_view method, std::string_view type,
                               std::string_view code) {
  return metrics::global().add_counter("grpc_server_handled_total",
                                       "Total number of RPCs completed on the server, regardless of success or failure.",
                                       {{"grpc_code", std::string(code)},
                                        {"grpc_method", std::string(method)},
                                        {"grpc_service", std::string(service)},
                                        {"grpc_type", std::string(type)}});
}

}  // namespace ringkv::server
