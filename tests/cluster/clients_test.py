"""tests/cluster/clients_test.py - real etcd clients against a 3-member ringkv cluster, unchanged.

What a user relies on:
- etcdctl given every endpoint (`--endpoints a,b,c`): put/get, watch, lease grant/timetolive/list/
  revoke, lock, elect (campaign and observe), endpoint health, endpoint status (one leader, the same
  one on every row), endpoint hashkv (equal);
- python3-etcd3 against each member in turn, followers included: put/get seen on every member, txn,
  watch, leases (grant, keepalive, TimeToLive), lock.
Helpers (processes stopped by PID, temp dirs removed) are cluster_test.py's; every etcdctl started in
the background is stopped by PID.
"""
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import unittest

import etcd3

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_test import Cluster  # noqa: E402

WAIT_S = 15


class Background:
    """An etcdctl left running (watch, elect): its output lines arrive in a queue; stopped by PID."""

    def __init__(self, endpoints, *args):
        env = dict(os.environ, ETCDCTL_API="3")
        self.proc = subprocess.Popen(["etcdctl", "--endpoints", endpoints] + list(args), stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, env=env)
        self.lines = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, text, timeout_s=WAIT_S):
        """All lines up to the first containing `text`; raises AssertionError after the timeout."""
        seen = []
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            seen.append(line)
            if text in line:
                return seen
        raise AssertionError("no %r from etcdctl %s; got %r" % (text, self.proc.args[3:], seen))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(5)
        self.proc.stdout.close()


class ClusterClients(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster().start()
        if cls.cluster.agreed_leader() is None:
            cls.cluster.cleanup()
            raise AssertionError("no agreed leader")
        cls.endpoints = ",".join(m.endpoint for m in cls.cluster.members)

    @classmethod
    def tearDownClass(cls):
        cls.cluster.cleanup()

    def ctl(self, *args, stderr=False):
        """etcdctl with every endpoint; must succeed; its stdout (plus stderr, where etcdctl prints health)."""
        return self.ctl_at(self.endpoints, *args, stderr=stderr)

    def ctl_at(self, endpoints, *args, stderr=False):
        """etcdctl with `endpoints`; must succeed; its stdout (plus stderr if asked)."""
        env = dict(os.environ, ETCDCTL_API="3")
        result = subprocess.run(["etcdctl", "--endpoints", endpoints] + list(args), capture_output=True,
                                text=True, env=env, timeout=30)
        self.assertEqual(result.returncode, 0, "etcdctl %s: %s%s" % (" ".join(args), result.stdout, result.stderr))
        return result.stdout + (result.stderr if stderr else "")

    def test_etcdctl_with_every_endpoint(self):
        self.assertEqual(self.ctl("put", "ctl/k", "v1").strip(), "OK")
        self.assertEqual(self.ctl("get", "ctl/k", "--print-value-only").strip(), "v1")

        watch = Background(self.endpoints, "watch", "ctl/w")
        try:
            time.sleep(0.5)  # the watch is registered before the put
            follower = next(m for m in self.cluster.members if not m.is_leader())
            follower.etcdctl("put", "ctl/w", "watched")
            self.assertEqual(watch.wait_for("watched")[-3:], ["PUT", "ctl/w", "watched"])
        finally:
            watch.stop()

        lease = re.search(r"lease ([0-9a-f]+) granted with TTL\(30s\)", self.ctl("lease", "grant", "30")).group(1)
        self.ctl("put", "ctl/leased", "x", "--lease", lease)
        ttl = self.ctl("lease", "timetolive", lease, "--keys")
        self.assertRegex(ttl, r"granted with TTL\(30s\), remaining\((29|30)s\), attached keys\(\[ctl/leased\]\)")
        self.assertIn(lease, self.ctl("lease", "list"))
        self.assertIn("keepalived with TTL(30)", self.ctl("lease", "keep-alive", "--once", lease))
        self.assertIn("revoked", self.ctl("lease", "revoke", lease))
        self.assertEqual(self.ctl("get", "ctl/leased").strip(), "")

        self.assertEqual(self.ctl("lock", "ctl-lock", "echo", "held-the-lock").strip(), "held-the-lock")

        candidate = Background(self.endpoints, "elect", "ctl-election", "proposal-1")
        observer = None
        try:
            candidate.wait_for("proposal-1")  # elected: prints its key, then the proposal
            observer = Background(self.endpoints, "elect", "-l", "ctl-election")
            self.assertIn("proposal-1", observer.wait_for("proposal-1")[-1])
        finally:
            candidate.stop()
            if observer is not None:
                observer.stop()

        health = self.ctl("endpoint", "health", stderr=True)
        self.assertEqual(health.count("is healthy"), 3, health)

        statuses = json.loads(self.ctl("endpoint", "status", "-w", "json"))
        self.assertEqual(len(statuses), 3)
        leaders = {s["Status"]["leader"] for s in statuses}
        self.assertEqual(len(leaders), 1)
        self.assertEqual(sum(s["Status"]["header"]["member_id"] in leaders for s in statuses), 1)
        # --cluster dials every member's client URL from MemberList as a gRPC target
        # "passthrough:///http://..."; grpc-go then sends ":authority: http://127.0.0.1:port", which the
        # server must accept as etcd does.
        first = self.cluster.members[0].endpoint
        cluster_statuses = json.loads(self.ctl_at(first, "endpoint", "status", "--cluster", "-w", "json"))
        self.assertEqual(len(cluster_statuses), 3, cluster_statuses)
        self.assertEqual({s["Status"]["leader"] for s in cluster_statuses}, leaders)

        hashes = json.loads(self.ctl("endpoint", "hashkv", "-w", "json"))
        self.assertEqual(len(hashes), 3)
        deadline = time.time() + WAIT_S
        while len({h["HashKV"]["hash"] for h in hashes}) != 1 and time.time() < deadline:
            time.sleep(0.2)
            hashes = json.loads(self.ctl("endpoint", "hashkv", "-w", "json"))
        self.assertEqual(len({h["HashKV"]["hash"] for h in hashes}), 1, hashes)

    def test_python_etcd3_against_each_member(self):
        clients = {m.name: etcd3.client(host="127.0.0.1", port=m.client_port, timeout=10)
                   for m in self.cluster.members}
        for name, client in clients.items():
            client.put("py/" + name, "from-" + name)
            for other in clients.values():  # linearizable reads: every member sees it at once
                self.assertEqual(other.get("py/" + name)[0], b"from-" + name.encode())

            ok, _ = client.transaction(compare=[client.transactions.value("py/" + name) == "from-" + name],
                                       success=[client.transactions.put("py/txn/" + name, "yes")], failure=[])
            self.assertTrue(ok, name)
            self.assertEqual(client.get("py/txn/" + name)[0], b"yes")

            events, cancel = client.watch("py/watched/" + name)
            writer = clients[next(n for n in clients if n != name)]
            writer.put("py/watched/" + name, "w")
            event = next(events)
            cancel()
            self.assertEqual((event.key, event.value), (("py/watched/" + name).encode(), b"w"))

            lease = client.lease(20)
            client.put("py/leased/" + name, "l", lease=lease)
            self.assertEqual([r.TTL for r in client.refresh_lease(lease.id)], [20], name)
            info = client.get_lease_info(lease.id)
            self.assertEqual(info.grantedTTL, 20)
            self.assertTrue(18 <= info.TTL <= 20, (name, info.TTL))
            self.assertEqual(list(info.keys), [("py/leased/" + name).encode()])
            lease.revoke()
            self.assertIsNone(client.get("py/leased/" + name)[0])

            # Uncontended acquire only: a contended one retries through tenacity, and Debian's python3-etcd3
            # is incompatible with Debian's tenacity there (a client bug, the same against etcd).
            lock = client.lock("py-lock", ttl=10)
            self.assertTrue(lock.acquire(), name)
            self.assertTrue(lock.is_acquired())
            other = clients[next(n for n in clients if n != name)].lock("py-lock", ttl=10)
            self.assertFalse(other.is_acquired())
            self.assertEqual(len(list(writer.get_prefix("/locks/py-lock"))), 1)
            lock.release()
            self.assertEqual(list(writer.get_prefix("/locks/py-lock")), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
