"""tests/server/shards_test.py - client connections on every shard, against the real binary.

Starts `ringkv --shards 2`, opens gRPC connections until both shards serve some (told apart by
ringkv_client_connections{shard="N"} on /metrics, read over one kept-alive HTTP connection so its own
count never moves), then on a connection of each shard: put/get/txn, a watch that sees puts made on
the other shard, a lease with its keepalive stream, a snapshot, an election observe. Then SIGTERM with
all those streams open: ringkv exits 0 promptly, and after a restart every acknowledged write is there.
"""
import http.client
import os
import re
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ringkv_process import RingkvServer  # noqa: E402

import grpc  # noqa: E402
import etcd3  # noqa: E402
from etcd3 import etcdrpc  # noqa: E402

SHARDS = 2
CONNECTIONS_MAX = 40       # connections opened at most to reach every shard
PER_SHARD_WANTED = 2
STOP_SECONDS_MAX = 10
SERIES = re.compile(r'^ringkv_client_connections\{shard="(\d+)"\} (\d+)', re.M)


def leader_request(name):
    """v3electionpb.LeaderRequest{name} by hand (field 1, bytes)."""
    data = name.encode()
    return b"\x0a" + bytes([len(data)]) + data


class ShardedServerTest(unittest.TestCase):
    def setUp(self):
        self.server = RingkvServer(["--shards", str(SHARDS)]).start()
        self.metrics = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=5)
        self.clients = []
        self.streams_done = threading.Event()

    def tearDown(self):
        self.streams_done.set()
        for client in self.clients:
            try:
                client.close()
            except Exception:
                pass
        self.metrics.close()
        self.server.cleanup()

    def held_open_requests(self, lease_id):
        """A LeaseKeepAlive request stream: one request, then open until the test ends."""
        yield etcdrpc.LeaseKeepAliveRequest(ID=lease_id)
        self.streams_done.wait(60)

    def per_shard(self):
        self.metrics.request("GET", "/metrics")
        text = self.metrics.getresponse().read().decode()
        return {int(s): int(n) for s, n in SERIES.findall(text)}

    def connect_until_every_shard_serves(self):
        """Opens clients one by one; returns {shard: [client, ...]}."""
        by_shard = {}
        before = self.per_shard()
        self.assertEqual(sorted(before), list(range(SHARDS)), "one series per shard")
        for _ in range(CONNECTIONS_MAX):
            client = etcd3.client(host="127.0.0.1", port=self.server.port, timeout=10,
                                  grpc_options=[("grpc.use_local_subchannel_pool", 1)])  # its own TCP connection
            self.clients.append(client)
            client.status()
            after = self.per_shard()
            grown = [s for s in after if after[s] == before.get(s, 0) + 1]
            self.assertEqual(len(grown), 1, "one new connection on one shard: %r -> %r" % (before, after))
            by_shard.setdefault(grown[0], []).append(client)
            before = after
            if all(len(by_shard.get(s, [])) >= PER_SHARD_WANTED for s in range(SHARDS)):
                break
        self.assertEqual(sorted(by_shard), list(range(SHARDS)), "both shards serve connections")
        return by_shard

    def test_every_method_on_every_shard_then_clean_stop_and_restart(self):
        by_shard = self.connect_until_every_shard_serves()
        acknowledged = {}
        events = {s: [] for s in range(SHARDS)}
        cancels = []
        keepalive_streams = []
        observed = {s: [] for s in range(SHARDS)}
        observe_calls = []

        for shard in range(SHARDS):
            client = by_shard[shard][0]
            other = by_shard[(shard + 1) % SHARDS][0]
            # unary KV
            key = "shard%d/key" % shard
            revision = client.put(key, "v%d" % shard).header.revision
            acknowledged[key] = "v%d" % shard
            value, meta = client.get(key)
            self.assertEqual(value, ("v%d" % shard).encode())
            self.assertEqual(meta.mod_revision, revision)
            ok, _ = client.transaction(compare=[client.transactions.value(key) == "v%d" % shard],
                                       success=[client.transactions.put(key + "/txn", "t")], failure=[])
            self.assertTrue(ok)
            acknowledged[key + "/txn"] = "t"
            # a watch on this shard sees a put made on the other shard
            watched = "watched/%d" % shard
            def on_watch(response, s=shard):
                if hasattr(response, "events"):  # errors come here too once the server stops
                    events[s].extend(e.value.decode() for e in response.events)
            cancels.append(client.add_watch_callback(watched, on_watch))
            time.sleep(0.2)  # the watch is created before the put
            other.put(watched, "from-%d" % ((shard + 1) % SHARDS))
            acknowledged[watched] = "from-%d" % ((shard + 1) % SHARDS)
            deadline = time.time() + 5
            while not events[shard] and time.time() < deadline:
                time.sleep(0.02)
            self.assertEqual(events[shard], ["from-%d" % ((shard + 1) % SHARDS)])
            # lease grant, keepalive over the bidi stream, attached key
            lease = client.lease(30)
            for refreshed in lease.refresh():
                self.assertGreater(refreshed.TTL, 0)
            client.put("leased/%d" % shard, "x", lease=lease)
            self.assertEqual(client.get("leased/%d" % shard)[1].lease_id, lease.id)
            acknowledged["leased/%d" % shard] = "x"
            # keep a keepalive stream open across the shutdown
            stub = etcdrpc.LeaseStub(client.channel)
            keepalive_streams.append(stub.LeaseKeepAlive(self.held_open_requests(lease.id)))
            # snapshot (server-streaming)
            with tempfile.TemporaryFile() as f:
                client.snapshot(f)
                self.assertGreater(f.tell(), 0)
            # election observe (server-streaming): the oldest key under the name leads
            name = "election%d" % shard
            observe = client.channel.unary_stream("/v3electionpb.Election/Observe",
                                                  request_serializer=None, response_deserializer=None)
            call = observe(leader_request(name))
            observe_calls.append(call)

            def read_leaders(call=call, shard=shard):
                try:
                    for raw in call:
                        response = etcdrpc.RangeResponse.FromString(raw)  # same fields: header=1, kv=2
                        observed[shard].extend(kv.value.decode() for kv in response.kvs)
                except grpc.RpcError:
                    pass
            threading.Thread(target=read_leaders, daemon=True).start()
            other.put(name + "/candidate", "leader-%d" % shard)
            acknowledged[name + "/candidate"] = "leader-%d" % shard
            deadline = time.time() + 5
            while not observed[shard] and time.time() < deadline:
                time.sleep(0.02)
            self.assertEqual(observed[shard], ["leader-%d" % shard])

        # etcdctl snapshot save: each run is a new connection, on whichever shard the kernel picks
        for attempt in range(4):
            path = os.path.join(self.server.data_dir, "..", "shards-snap-%d-%d.db" % (self.server.port, attempt))
            try:
                self.assertIn("Snapshot saved at", self.server.etcdctl("snapshot", "save", path).stdout)
                self.assertEqual(os.path.getsize(path) % 512, 32)  # what etcdctl checks: sha256 trailer
                self.assertIn("totalKey", self.server.etcdctl("snapshot", "status", path, "-w", "json").stdout)
            finally:
                if os.path.exists(path):
                    os.unlink(path)

        # many writes from connections on both shards
        def writer(client, prefix):
            for i in range(50):
                k = "%s/%d" % (prefix, i)
                client.put(k, str(i))
                acknowledged[k] = str(i)
        threads = [threading.Thread(target=writer, args=(c, "load/%d/%d" % (s, j)))
                   for s, clients in by_shard.items() for j, c in enumerate(clients[:2])]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)

        # SIGTERM with watch, keepalive and observe streams open on both shards
        started = time.time()
        code = self.server.stop()
        self.assertEqual(code, 0, self.server.log_text())
        self.assertLess(time.time() - started, STOP_SECONDS_MAX)
        # shard 0 waited for the relayed calls' ends to go (woken by the last one), not for its limit
        self.assertNotIn("relayed calls still open at shutdown", self.server.log_text())
        self.streams_done.set()
        for call in observe_calls:
            call.cancel()
        for client in self.clients:
            client.close()
        self.clients = []

        self.server.start()
        client = etcd3.client(host="127.0.0.1", port=self.server.port, timeout=10)
        self.clients.append(client)
        missing = [k for k, v in acknowledged.items() if client.get(k)[0] != v.encode()]
        self.assertEqual(missing, [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
