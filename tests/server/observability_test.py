"""tests/server/observability_test.py - what an operator sees of the real ringkv binary, as etcd shows it:
go-grpc-prometheus' per-RPC counters in /metrics (etcd's labels, each call counted once even when its
connection lives on another shard than the handler), the db size gauges (the size Status reports), and a
log that is JSON lines only, with member ids in hex and etcd's raft lines ("became leader")."""
import http.client
import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ringkv_process import RingkvServer  # noqa: E402

import grpc  # noqa: E402
from etcd3 import etcdrpc  # noqa: E402

SHARDS = 2
CHANNELS_MAX = 24  # connections opened until both shards serve at least one
SAMPLE = re.compile(r"^(\w+)(?:\{(.*)\})? (\S+)$")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
HEX_ID = re.compile(r"^[0-9a-f]{1,16}$")


def parse_metrics(text):
    """{(name, frozenset(labels)): value} for every sample line."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = SAMPLE.match(line)
        assert match, "not a Prometheus sample line: %r" % line
        name, labels, value = match.groups()
        samples[(name, frozenset(LABEL.findall(labels or "")))] = float(value)
    return samples


def grpc_series(name, service, method, grpc_type, code=None):
    labels = {("grpc_service", service), ("grpc_method", method), ("grpc_type", grpc_type)}
    if code is not None:
        labels.add(("grpc_code", code))
    return (name, frozenset(labels))


class Observability(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = RingkvServer(["--shards", str(SHARDS)]).start()
        # One HTTP connection for every scrape: it stays on its shard, so a new gRPC connection shows as
        # exactly one shard's ringkv_client_connections going up by one.
        cls.http = http.client.HTTPConnection("127.0.0.1", cls.server.port, timeout=5)
        cls.channels = []

    @classmethod
    def tearDownClass(cls):
        for channel in cls.channels:
            channel.close()
        cls.http.close()
        cls.server.cleanup()

    def metrics(self):
        self.http.request("GET", "/metrics")
        return parse_metrics(self.http.getresponse().read().decode())

    def connections_per_shard(self):
        samples = self.metrics()
        return {dict(labels)["shard"]: value for (name, labels), value in samples.items()
                if name == "ringkv_client_connections"}

    def test_1_grpc_calls_counted_once_with_etcds_labels(self):
        # One Put, one Range and one failing Put per connection, over connections of both shards (the
        # calls of shard 1 run their handler on shard 0 through the relay: still counted once).
        calls = 0
        shards_used = set()
        before = self.connections_per_shard()
        for i in range(CHANNELS_MAX):
            channel = grpc.insecure_channel(self.server.endpoint, options=[("grpc.use_local_subchannel_pool", 1)])
            self.channels.append(channel)  # its own TCP connection, kept open until the end
            kv = etcdrpc.KVStub(channel)
            kv.Put(etcdrpc.PutRequest(key=b"obs/%d" % i, value=b"v"))
            kv.Range(etcdrpc.RangeRequest(key=b"obs/%d" % i))
            with self.assertRaises(grpc.RpcError) as failed:
                kv.Put(etcdrpc.PutRequest(key=b"", value=b"v"))
            self.assertEqual(failed.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
            calls += 1
            after = self.connections_per_shard()
            shards_used.update(shard for shard in after if after[shard] == before.get(shard, 0) + 1)
            before = after
            if len(shards_used) == SHARDS:
                break
        self.assertEqual(len(shards_used), SHARDS, "connections on both shards served calls")
        # An unknown method is refused before any handler: not counted (as grpc-go/etcd).
        nope = self.channels[0].unary_unary("/etcdserverpb.KV/Nope")
        with self.assertRaises(grpc.RpcError) as refused:
            nope(b"")
        self.assertEqual(refused.exception.code(), grpc.StatusCode.UNIMPLEMENTED)

        samples = self.metrics()
        kv = "etcdserverpb.KV"
        self.assertEqual(samples.get(grpc_series("grpc_server_started_total", kv, "Put", "unary")), 2 * calls)
        self.assertEqual(samples.get(grpc_series("grpc_server_started_total", kv, "Range", "unary")), calls)
        self.assertEqual(samples.get(grpc_series("grpc_server_handled_total", kv, "Put", "unary", "OK")), calls)
        self.assertEqual(samples.get(grpc_series("grpc_server_handled_total", kv, "Put", "unary", "InvalidArgument")),
                         calls)
        self.assertEqual(samples.get(grpc_series("grpc_server_handled_total", kv, "Range", "unary", "OK")), calls)
        self.assertEqual(samples.get(grpc_series("grpc_server_handled_total", kv, "Range", "unary", "NotFound")), 0)
        # Every registered method's series exist from the start, with its type (go-grpc-prometheus' Register).
        self.assertEqual(samples.get(grpc_series("grpc_server_started_total", "etcdserverpb.Watch", "Watch",
                                                 "bidi_stream")), 0)
        self.assertEqual(samples.get(grpc_series("grpc_server_started_total", "etcdserverpb.Maintenance", "Snapshot",
                                                 "server_stream")), 0)
        self.assertEqual(samples.get(grpc_series("grpc_server_started_total", "v3electionpb.Election", "Observe",
                                                 "server_stream")), 0)
        self.assertEqual(samples.get(grpc_series("grpc_server_started_total", "etcdserverpb.Lease", "LeaseKeepAlive",
                                                 "bidi_stream")), 0)
        unknown = [key for key in samples if ("grpc_method", "Nope") in key[1]]
        self.assertEqual(unknown, [])

    def test_2_db_size_gauges_are_the_status_db_size(self):
        kv = etcdrpc.KVStub(self.channels[0] if self.channels else grpc.insecure_channel(self.server.endpoint))
        for i in range(20):
            kv.Put(etcdrpc.PutRequest(key=b"size/%d" % i, value=b"x" * 100))
        maintenance = etcdrpc.MaintenanceStub(grpc.insecure_channel(self.server.endpoint))
        status = maintenance.Status(etcdrpc.StatusRequest())
        samples = self.metrics()
        self.assertGreater(status.dbSize, 2000)
        for name in ("etcd_mvcc_db_total_size_in_bytes", "etcd_debugging_mvcc_db_total_size_in_bytes"):
            self.assertEqual(samples.get((name, frozenset())), status.dbSize, name)
        # (python3-etcd3's protos predate StatusResponse.dbSizeInUse; ringkv reports it equal to dbSize.)
        self.assertEqual(samples.get(("etcd_mvcc_db_total_size_in_use_in_bytes", frozenset())), status.dbSize)

    def test_3_log_is_json_lines_with_hex_member_ids(self):
        member_id = etcdrpc.MaintenanceStub(grpc.insecure_channel(self.server.endpoint)).Status(
            etcdrpc.StatusRequest()).header.member_id
        lines = self.server.log_text().splitlines()
        self.assertGreater(len(lines), 3)
        records = []
        for line in lines:
            record = json.loads(line)  # raises on any line that is not JSON
            for key in ("level", "ts", "caller", "msg"):
                self.assertIn(key, record, line)
            records.append(record)
        id_keys = [key for record in records for key in record
                   if key.endswith("-id") and key != "lease-id"]
        self.assertIn("local-member-id", id_keys)
        for record in records:
            for key, value in record.items():
                if key.endswith("-id") and key != "lease-id":
                    self.assertTrue(isinstance(value, str) and HEX_ID.match(value), "%s in %r" % (key, record))
        by_msg = {}
        for record in records:
            by_msg.setdefault(record["msg"], []).append(record)
        self.assertIn("became leader", by_msg, lines)
        self.assertEqual(by_msg["became leader"][-1]["local-member-id"], format(member_id, "x"))
        self.assertEqual(by_msg["elected leader"][-1]["leader-id"], format(member_id, "x"))
        starting = by_msg["starting an etcd server"][0]
        self.assertEqual(starting["data-dir"], self.server.data_dir)
        self.assertEqual(starting["listen-client-urls"], ["http://%s" % self.server.endpoint])
        self.assertEqual(starting["snapshot-count"], 100000)
        self.assertEqual(starting["heartbeat-interval-ms"], 100)
        self.assertEqual(starting["quota-size-bytes"], 2 << 30)


if __name__ == "__main__":
    unittest.main(verbosity=2)
