"""tests/server/server_test.py - the real ringkv binary: flags, HTTP endpoints, etcd's gRPC error codes for
bad input (and the server keeps serving), clean SIGTERM shutdown, and durability across kill -9."""
import base64
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ringkv_process import RINGKV, RingkvServer  # noqa: E402

import grpc  # noqa: E402
import etcd3  # noqa: E402
from etcd3 import etcdrpc  # noqa: E402


def b64(text):
    return base64.b64encode(text.encode()).decode()


class Flags(unittest.TestCase):
    def test_help_lists_etcd_flags(self):
        out = subprocess.run([RINGKV, "--help"], capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 0)
        for flag in ("--name", "--data-dir", "--listen-client-urls", "--quota-backend-bytes", "--max-txn-ops"):
            self.assertIn(flag, out.stdout)

    def test_bad_flag_is_a_clear_error(self):
        out = subprocess.run([RINGKV, "--heartbeat-interval", "500"], capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 2)
        self.assertIn("--election-timeout[1000ms] should be at least as 5 times", out.stderr)
        out = subprocess.run([RINGKV, "--listen-client-urls", "https://127.0.0.1:1"], capture_output=True,
                             text=True, timeout=10)
        self.assertIn("must be provided for client url https://127.0.0.1:1 with HTTPS scheme", out.stderr)

    def test_max_request_bytes_beyond_one_wal_entry_is_refused_at_start(self):
        """A request travels as one WAL entry: a limit it cannot hold is refused before anything starts
        (once such a Put took the member down after raft had accepted it)."""
        with tempfile.TemporaryDirectory() as data_dir:
            out = subprocess.run([RINGKV, "--data-dir", data_dir, "--max-request-bytes", str(8 << 20),
                                  "--listen-client-urls", "http://127.0.0.1:0"],
                                 capture_output=True, text=True, timeout=20)
            self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
            self.assertIn("--max-request-bytes is above the largest request one WAL entry can hold",
                          out.stdout + out.stderr)
            self.assertFalse(os.path.exists(os.path.join(data_dir, "member", "wal")), "nothing was created")


class Serving(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = RingkvServer().start()
        cls.channel = grpc.insecure_channel(cls.server.endpoint)
        cls.kv = etcdrpc.KVStub(cls.channel)
        cls.lease = etcdrpc.LeaseStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.server.cleanup()

    def assert_code(self, call, code, message=None):
        with self.assertRaises(grpc.RpcError) as caught:
            call()
        self.assertEqual(caught.exception.code(), code, caught.exception.details())
        if message is not None:
            self.assertEqual(caught.exception.details(), message)

    def test_http_endpoints(self):
        self.assertEqual(self.server.http_get("/health"), '{"health":"true"}')
        self.assertEqual(json.loads(self.server.http_get("/version"))["etcdcluster"], "3.4.0")
        metrics = self.server.http_get("/metrics")
        self.assertIn("etcd_server_has_leader 1\n", metrics)
        self.assertIn("etcd_server_is_leader 1\n", metrics)
        self.assertIn("# TYPE etcd_disk_wal_write_bytes_total counter", metrics)
        # Every write is made durable by a WAL fdatasync, and each one is observed.
        self.kv.Put(etcdrpc.PutRequest(key=b"metrics/k", value=b"v"))
        metrics = self.server.http_get("/metrics")
        syncs = [line for line in metrics.splitlines()
                 if line.startswith("etcd_disk_wal_fsync_duration_seconds_count ")]
        self.assertEqual(len(syncs), 1, metrics)
        self.assertGreater(int(float(syncs[0].split()[1])), 0, syncs)

    def test_bad_input_gets_etcds_errors(self):
        kv, lease = self.kv, self.lease
        self.assert_code(lambda: kv.Put(etcdrpc.PutRequest(key=b"", value=b"v")),
                         grpc.StatusCode.INVALID_ARGUMENT, "etcdserver: key is not provided")
        self.assert_code(lambda: kv.Put(etcdrpc.PutRequest(key=b"k", value=b"v", ignore_value=True)),
                         grpc.StatusCode.INVALID_ARGUMENT, "etcdserver: value is provided")
        ops = [etcdrpc.RequestOp(request_put=etcdrpc.PutRequest(key=b"k%d" % i)) for i in range(129)]
        self.assert_code(lambda: kv.Txn(etcdrpc.TxnRequest(success=ops)),
                         grpc.StatusCode.INVALID_ARGUMENT, "etcdserver: too many operations in txn request")
        twice = [etcdrpc.RequestOp(request_put=etcdrpc.PutRequest(key=b"dup")) for _ in range(2)]
        self.assert_code(lambda: kv.Txn(etcdrpc.TxnRequest(success=twice)),
                         grpc.StatusCode.INVALID_ARGUMENT, "etcdserver: duplicate key given in txn request")
        self.assert_code(lambda: kv.Range(etcdrpc.RangeRequest(key=b"k", revision=10 ** 9)),
                         grpc.StatusCode.OUT_OF_RANGE, "etcdserver: mvcc: required revision is a future revision")
        self.assert_code(lambda: lease.LeaseRevoke(etcdrpc.LeaseRevokeRequest(ID=424242)),
                         grpc.StatusCode.NOT_FOUND, "etcdserver: requested lease not found")
        self.assert_code(lambda: kv.Put(etcdrpc.PutRequest(key=b"big", value=b"x" * (1600 * 1024))),
                         grpc.StatusCode.INVALID_ARGUMENT, "etcdserver: request is too large")
        self.assert_code(lambda: kv.Put(etcdrpc.PutRequest(key=b"huge", value=b"x" * (3 << 20))),
                         grpc.StatusCode.RESOURCE_EXHAUSTED)
        unknown = self.channel.unary_unary("/etcdserverpb.KV/Nope", request_serializer=lambda b: b,
                                           response_deserializer=lambda b: b)
        self.assert_code(lambda: unknown(b""), grpc.StatusCode.UNIMPLEMENTED)
        raw_put = self.channel.unary_unary("/etcdserverpb.KV/Put", request_serializer=lambda b: b,
                                           response_deserializer=lambda b: b)
        self.assert_code(lambda: raw_put(b"\x0a\xff\xff\xff"), grpc.StatusCode.INTERNAL)
        # ... and the server keeps serving.
        kv.Put(etcdrpc.PutRequest(key=b"still", value=b"here"))
        self.assertEqual(kv.Range(etcdrpc.RangeRequest(key=b"still")).kvs[0].value, b"here")


class Gateway(unittest.TestCase):
    """etcd's JSON gateway, and the server-side Lock and Election services reached through it."""

    @classmethod
    def setUpClass(cls):
        cls.server = RingkvServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def post(self, path, body):
        request = urllib.request.Request("http://%s%s" % (self.server.endpoint, path), data=json.dumps(body).encode(),
                                         method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def test_kv_through_json(self):
        status, put = self.post("/v3/kv/put", {"key": b64("gw/k"), "value": b64("v")})
        self.assertEqual(status, 200)
        status, got = self.post("/v3/kv/range", {"key": b64("gw/k")})
        self.assertEqual(got["kvs"][0]["value"], b64("v"))
        self.assertEqual(got["count"], "1")  # int64 as a string, as etcd's gateway
        self.assertEqual(got["header"]["revision"], put["header"]["revision"])
        status, error = self.post("/v3/kv/range", {"key": ""})
        self.assertEqual((status, error["code"], error["error"]), (400, 3, "etcdserver: key is not provided"))

    def test_lock_excludes_and_election_elects(self):
        lease_a = self.post("/v3/lease/grant", {"TTL": 30})[1]["ID"]
        lease_b = self.post("/v3/lease/grant", {"TTL": 30})[1]["ID"]
        status, held = self.post("/v3/lock/lock", {"name": b64("L"), "lease": lease_a})
        self.assertEqual(status, 200)
        self.assertTrue(base64.b64decode(held["key"]).startswith(b"L/"))
        second = {}
        waiter = threading.Thread(target=lambda: second.update(
            result=self.post("/v3/lock/lock", {"name": b64("L"), "lease": lease_b})))
        waiter.start()
        time.sleep(0.5)
        self.assertTrue(waiter.is_alive())  # blocked while the first holder has the lock
        self.post("/v3/lock/unlock", {"key": held["key"]})
        waiter.join(5)
        self.assertFalse(waiter.is_alive())
        self.assertEqual(second["result"][0], 200)

        status, campaign = self.post("/v3/election/campaign", {"name": b64("E"), "lease": lease_a,
                                                               "value": b64("v1")})
        self.assertEqual(status, 200)
        leader = campaign["leader"]
        self.post("/v3/election/proclaim", {"leader": leader, "value": b64("v2")})
        status, current = self.post("/v3/election/leader", {"name": b64("E")})
        self.assertEqual(current["kv"]["value"], b64("v2"))
        self.post("/v3/election/resign", {"leader": leader})
        status, error = self.post("/v3/election/leader", {"name": b64("E")})
        self.assertIn("election: no leader", error["error"])


class AutoCompaction(unittest.TestCase):
    def test_periodic_retention_compacts_old_revisions(self):
        server = RingkvServer(["--auto-compaction-mode", "periodic", "--auto-compaction-retention", "2s"]).start()
        try:
            first = json.loads(server.etcdctl("put", "c", "1", "-w", "json").stdout)["header"]["revision"]
            server.etcdctl("put", "c", "2")
            deadline = time.time() + 30  # samples every second; compacts to the revision of 10 samples ago
            while time.time() < deadline:
                old = server.etcdctl("get", "c", "--rev", str(first), check=False)
                if "required revision has been compacted" in old.stderr:
                    break
                time.sleep(1)
            self.assertIn("required revision has been compacted", old.stderr)
            self.assertIn("auto compaction done", server.log_text())
        finally:
            server.cleanup()


class Durability(unittest.TestCase):
    def test_sigterm_exits_cleanly_and_keeps_data(self):
        server = RingkvServer().start()
        try:
            server.etcdctl("put", "k", "v")
            self.assertEqual(server.stop(), 0)
            self.assertIn("WAL closed", server.log_text())
            server.start()
            self.assertEqual(server.etcdctl("get", "k", "--print-value-only").stdout, "v\n")
        finally:
            server.cleanup()

    def test_restart_from_snapshot_and_wal(self):
        server = RingkvServer(["--snapshot-count", "20"]).start()
        try:
            for i in range(70):
                server.etcdctl("put", "snap/%02d" % i, "v%d" % i)
            lease = server.etcdctl("lease", "grant", "300").stdout.split()[1]
            server.etcdctl("put", "snap/leased", "x", "--lease", lease)
            snap_dir = os.path.join(server.data_dir, "member", "snap")
            self.assertTrue(any(name.endswith(".snap") for name in os.listdir(snap_dir)))
            server.kill()
            server.start()
            self.assertIn("loaded snapshot", server.log_text())
            got = server.etcdctl("get", "snap/", "--prefix", "--print-value-only").stdout.split()
            self.assertEqual(len(got), 71)
            self.assertEqual(got[0], "v0")
            self.assertIn("attached keys([snap/leased])", server.etcdctl("lease", "timetolive", lease, "--keys").stdout)
        finally:
            server.cleanup()

    def test_kill_9_during_writes_loses_no_acknowledged_write(self):
        server = RingkvServer(["--snapshot-count", "300"]).start()  # snapshots and WAL release under load
        acknowledged = {}  # key -> (value, revision)
        lock = threading.Lock()
        stop = threading.Event()

        def writer(worker):
            client = etcd3.client(host="127.0.0.1", port=server.port, timeout=5)
            i = 0
            while not stop.is_set():
                key, value = "load/%d/%d" % (worker, i), "v%d" % i
                try:
                    response = client.put(key, value)
                except Exception:
                    return  # the server is gone: this write was never acknowledged
                with lock:
                    acknowledged[key] = (value, response.header.revision)
                i += 1

        try:
            threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
            for t in threads:
                t.start()
            time.sleep(1.5)
            server.kill()
            stop.set()
            for t in threads:
                t.join(10)
            self.assertGreater(len(acknowledged), 50)
            server.start()
            client = etcd3.client(host="127.0.0.1", port=server.port, timeout=10)
            stored = {m.key.decode(): v.decode() for v, m in client.get_prefix("load/")}
            missing = [k for k, (v, _) in acknowledged.items() if stored.get(k) != v]
            self.assertEqual(missing, [])
            newest = max(rev for _, rev in acknowledged.values())
            header_revision = client.put("after/restart", "x").header.revision
            self.assertGreater(header_revision, newest)  # revisions never go backwards
            client.close()
        finally:
            stop.set()
            server.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
