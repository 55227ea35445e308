// server/common/server_metrics.h — the metrics the node exports at /metrics, under etcd's names where etcd
// has a counterpart (so dashboards built for etcd work). Registered once in metrics::global().
#pragma once

#include "server/common/metrics.h"

namespace ringkv::server {

struct server_metrics {
  metrics::gauge& has_leader;                  // etcd_server_has_leader
  metrics::gauge& is_leader;                   // etcd_server_is_leader
  metrics::counter& leader_changes;            // etcd_server_leader_changes_seen_total
  metrics::gauge& proposals_committed;         // etcd_server_proposals_committed_total (gauge in etcd)
  metrics::gauge& proposals_applied;           // etcd_server_proposals_applied_total (gauge in etcd)
  metrics::gauge& proposals_pending;           // etcd_server_proposals_pending
  metrics::counter& proposals_failed;          // etcd_server_proposals_failed_total
  metrics::gauge& quota_backend_bytes;         // etcd_server_quota_backend_bytes
  metrics::counter& read_indexes_failed;       // etcd_server_read_indexes_failed_total
  metrics::histogram& wal_fsync_seconds;       // etcd_disk_wal_fsync_duration_seconds
  metrics::counter& wal_write_bytes;           // etcd_disk_wal_write_bytes_total
  metrics::gauge& db_total_size_bytes;         // etcd_mvcc_db_total_size_in_bytes
  metrics::gauge& db_in_use_size_bytes;        // etcd_mvcc_db_total_size_in_use_in_bytes
  metrics::gauge& db_total_size_bytes_debugging;  // etcd_debugging_mvcc_db_total_size_in_bytes (etcd 3.4's name)
  metrics::counter& mvcc_put;                  // etcd_mvcc_put_total
  metrics::counter& mvcc_delete;               // etcd_mvcc_delete_total
  metrics::counter& mvcc_range;                // etcd_mvcc_range_total
  metrics::counter& mvcc_txn;                  // etcd_mvcc_txn_total
  metrics::counter& grpc_received_bytes;       // etcd_network_client_grpc_received_bytes_total
  metrics::counter& grpc_sent_bytes;           // etcd_network_client_grpc_sent_bytes_total
  metrics::gauge& server_id;                   // etcd_server_id{server_id="..."} = 1
};

// Registers (idempotently) and returns the node's metrics.
server_metrics& node_metrics();
// Sets the three db size gauges to the size the Status RPC reports as dbSize and dbSizeInUse (the MVCC
// store's accounted bytes: ringkv has no file with free pages, so both are the same). Once per applied
// batch, not per write.
void publish_db_size(int64_t size_bytes);
// ringkv_client_connections{shard="N"}: client connections open on shard N (no etcd counterpart).
metrics::gauge& client_connections_gauge(unsigned shard);
// Per-RPC counters as etcd's go-grpc-prometheus exports them.
metrics::counter& grpc_started(std::string_view service, std::string_view method, std::string_view type);
metrics::counter& grpc_handled(std::string_view service, std::string_view method, std::string_view type,
                               std::string_view code);

}  // namespace ringkv::server
