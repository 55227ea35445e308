"""tests/compat/large_range_test.py - Range replies too large to build whole (server/api/range_stream.h:
1 MiB and up are made a slice at a time) against real etcd 3.4.

The same writes go to a ringkv and to an etcd (so revisions agree): 12,000 keys of ~600 bytes (7 MB),
overwrites and deletes. Then whole-prefix Ranges - plain, with a limit, keys only, at an old revision,
serializable - must give the same bytes from both servers apart from the header's ids and term; the JSON
gateway's answer must match etcd's too; writes running while a big Range is read do not change it. Every process is started here and stopped by its PID.

usage: large_range_test.py RINGKV
"""
import base64
import json
import os
import sys
import threading
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))
from ringkv_process import RingkvServer, free_port  # noqa: E402  (takes RINGKV from argv)

import grpc  # noqa: E402
from etcd3.etcdrpc import rpc_pb2, rpc_pb2_grpc  # noqa: E402

KEYS = 12000


class Etcd(RingkvServer):
    """Real etcd 3.4 on loopback ports, with RingkvServer's start and stop by PID."""

    def __init__(self):
        super().__init__()
        self.peer_url = "http://127.0.0.1:%d" % free_port()

    def command(self, url):
        return ["etcd", "--name", "default", "--data-dir", self.data_dir, "--listen-client-urls", url,
                "--advertise-client-urls", url, "--listen-peer-urls", self.peer_url,
                "--initial-advertise-peer-urls", self.peer_url, "--initial-cluster", "default=" + self.peer_url]

    def cleanup(self):
        self.stop()  # etcd re-raises SIGTERM after shutting down: no exit code to check
        os.unlink(self.log_path)


def write_history(kv):
    """Txns of 100 puts, then overwrites and deletes: the same revisions on any server."""
    for start in range(0, KEYS, 100):
        ops = [rpc_pb2.RequestOp(request_put=rpc_pb2.PutRequest(
            key=b"/big/%06d" % i, value=(b"v%d-" % i) + b"x" * (560 + i % 80))) for i in range(start, start + 100)]
        kv.Txn(rpc_pb2.TxnRequest(success=ops))
    for i in range(0, KEYS, 5):
        kv.Put(rpc_pb2.PutRequest(key=b"/big/%06d" % i, value=b"again" * 100))
    for i in range(0, KEYS, 13):
        kv.DeleteRange(rpc_pb2.DeleteRangeRequest(key=b"/big/%06d" % i))


def without_ids(response):
    """The reply's bytes with the header's cluster/member ids and raft term zeroed (they differ)."""
    copy = rpc_pb2.RangeResponse()
    copy.CopyFrom(response)
    copy.header.cluster_id = copy.header.member_id = copy.header.raft_term = 0
    return copy.SerializeToString()


class LargeRange(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.servers = [RingkvServer(), Etcd()]
        for s in cls.servers:
            s.start()
        cls.channels = [grpc.insecure_channel(s.endpoint, options=[("grpc.max_receive_message_length", 64 << 20)])
                        for s in cls.servers]
        cls.kvs = [rpc_pb2_grpc.KVStub(c) for c in cls.channels]
        for kv in cls.kvs:
            write_history(kv)

    @classmethod
    def tearDownClass(cls):
        for c in cls.channels:
            c.close()
        for s in cls.servers:
            s.cleanup()

    def test_same_bytes_as_etcd(self):
        current = self.kvs[0].Range(rpc_pb2.RangeRequest(key=b"/big/", range_end=b"/big0", count_only=True))
        requests = {
            "plain": rpc_pb2.RangeRequest(key=b"/big/", range_end=b"/big0"),
            "limit": rpc_pb2.RangeRequest(key=b"/big/", range_end=b"/big0", limit=9000),
            "keys only, from key": rpc_pb2.RangeRequest(key=b"\0", range_end=b"\0", keys_only=True),
            "old revision": rpc_pb2.RangeRequest(key=b"/big/", range_end=b"/big0", revision=KEYS // 100 + 50),
            "serializable, sorted by key": rpc_pb2.RangeRequest(key=b"/big/", range_end=b"/big0", serializable=True,
                                                                sort_order=rpc_pb2.RangeRequest.ASCEND),
        }
        for name, request in requests.items():
            ours, theirs = (kv.Range(request) for kv in self.kvs)
            self.assertEqual(ours.header.revision, current.header.revision, name)
            if not request.keys_only:
                self.assertGreater(len(ours.SerializeToString()), 1 << 20, name)  # streamed by ringkv
            self.assertEqual(without_ids(ours), without_ids(theirs), name)
        self.assertTrue(self.kvs[0].Range(requests["limit"]).more)

    def test_json_gateway_matches_etcd(self):
        body = json.dumps({"key": base64.b64encode(b"/big/").decode(), "range_end": base64.b64encode(b"/big0").decode(),
                           "limit": 5000}).encode()
        replies = []
        for s in self.servers:
            request = urllib.request.Request("http://%s/v3/kv/range" % s.endpoint, data=body, method="POST")
            with urllib.request.urlopen(request, timeout=30) as r:
                reply = json.loads(r.read())
            del reply["header"]
            replies.append(reply)
        self.assertEqual(replies[0], replies[1])
        self.assertEqual(len(replies[0]["kvs"]), 5000)

    def test_writes_during_a_slow_read_change_nothing(self):
        kv = self.kvs[0]
        before = kv.Range(rpc_pb2.RangeRequest(key=b"/big/", range_end=b"/big0"))
        stop = threading.Event()

        def writer():
            i = 0
            while not stop.is_set():
                kv.Put(rpc_pb2.PutRequest(key=b"/big/%06d" % (i % KEYS), value=b"during"))
                i += 7
        thread = threading.Thread(target=writer)
        thread.start()
        try:
            for _ in range(3):
                during = kv.Range(rpc_pb2.RangeRequest(key=b"/big/", range_end=b"/big0", revision=before.header.revision))
                self.assertEqual(list(during.kvs), list(before.kvs))
        finally:
            stop.set()
            thread.join()


if __name__ == "__main__":
    unittest.main()
