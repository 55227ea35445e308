"""tests/compat/etcdctl_test.py - the real etcdctl 3.4 against a real ringkv: every etcdctl command the
single-node server covers, with the output etcd gives."""
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))
from ringkv_process import RingkvServer  # noqa: E402


class Etcdctl(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = RingkvServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def ctl(self, *args, **kwargs):
        return self.server.etcdctl(*args, **kwargs)

    def test_put_get_del(self):
        self.assertEqual(self.ctl("put", "kv/a", "1").stdout, "OK\n")
        self.ctl("put", "kv/b", "2")
        self.assertEqual(self.ctl("get", "kv/a").stdout, "kv/a\n1\n")
        self.assertEqual(self.ctl("get", "kv/", "--prefix", "--keys-only").stdout, "kv/a\n\nkv/b\n\n")
        got = json.loads(self.ctl("get", "kv/a", "-w", "json").stdout)
        self.assertEqual(got["count"], 1)
        self.assertEqual(got["kvs"][0]["version"], 1)
        self.assertEqual(self.ctl("put", "kv/a", "3", "--prev-kv").stdout, "OK\nkv/a\n1\n")
        self.assertEqual(self.ctl("del", "kv/", "--prefix").stdout, "2\n")
        self.assertEqual(self.ctl("get", "kv/a").stdout, "")

    def test_revisions_and_compaction(self):
        first = json.loads(self.ctl("put", "rev/k", "v1", "-w", "json").stdout)["header"]["revision"]
        self.ctl("put", "rev/k", "v2")
        self.assertEqual(self.ctl("get", "rev/k", "--rev", str(first)).stdout, "rev/k\nv1\n")
        self.assertIn("compacted revision %d" % first, self.ctl("compaction", str(first)).stdout)
        old = self.ctl("get", "rev/k", "--rev", str(first - 1), check=False)
        self.assertNotEqual(old.returncode, 0)
        self.assertIn("required revision has been compacted", old.stderr)
        future = self.ctl("get", "rev/k", "--rev", "100000000", check=False)
        self.assertIn("required revision is a future revision", future.stderr)

    def test_txn(self):
        self.ctl("put", "txn/k", "yes")
        script = 'value("txn/k") = "yes"\n\nput txn/r success\n\nput txn/r failure\n\n'
        self.assertEqual(self.ctl("txn", input=script).stdout, "SUCCESS\n\nOK\n")
        self.assertEqual(self.ctl("get", "txn/r", "--print-value-only").stdout, "success\n")
        script = 'value("txn/k") = "no"\n\nput txn/r success\n\nput txn/r failure\n\n'
        self.assertEqual(self.ctl("txn", input=script).stdout, "FAILURE\n\nOK\n")

    def test_watch(self):
        env = dict(os.environ, ETCDCTL_API="3")
        watcher = subprocess.Popen(["etcdctl", "--endpoints", self.server.endpoint, "watch", "w/", "--prefix"],
                                   stdout=subprocess.PIPE, text=True, env=env)
        try:
            time.sleep(0.5)
            self.ctl("put", "w/1", "a")
            self.ctl("del", "w/1")
            lines = [watcher.stdout.readline() for _ in range(5)]
            self.assertEqual(lines, ["PUT\n", "w/1\n", "a\n", "DELETE\n", "w/1\n"])
        finally:
            watcher.kill()
            watcher.wait()

    def test_watch_from_revision(self):
        rev = json.loads(self.ctl("put", "wr/k", "old", "-w", "json").stdout)["header"]["revision"]
        self.ctl("put", "wr/k", "new")
        env = dict(os.environ, ETCDCTL_API="3")
        watcher = subprocess.Popen(["etcdctl", "--endpoints", self.server.endpoint, "watch", "wr/k", "--rev",
                                    str(rev)], stdout=subprocess.PIPE, text=True, env=env)
        try:
            lines = [watcher.stdout.readline() for _ in range(6)]
            self.assertEqual(lines, ["PUT\n", "wr/k\n", "old\n", "PUT\n", "wr/k\n", "new\n"])
        finally:
            watcher.kill()
            watcher.wait()

    def test_lease(self):
        out = self.ctl("lease", "grant", "60").stdout
        lease = out.split()[1]
        self.ctl("put", "lease/k", "v", "--lease", lease)
        ttl = self.ctl("lease", "timetolive", lease, "--keys").stdout
        self.assertIn("granted with TTL(60s)", ttl)
        self.assertIn("attached keys([lease/k])", ttl)
        self.assertIn(lease, self.ctl("lease", "list").stdout)
        self.assertIn("lease %s keepalived with TTL(60)" % lease, self.ctl("lease", "keep-alive", "--once", lease).stdout)
        self.assertIn("revoked", self.ctl("lease", "revoke", lease).stdout)
        self.assertEqual(self.ctl("get", "lease/k").stdout, "")
        missing = self.ctl("lease", "revoke", "1234", check=False)
        self.assertIn("requested lease not found", missing.stderr)

    def test_lease_expiry_deletes_keys(self):
        lease = self.ctl("lease", "grant", "2").stdout.split()[1]
        self.ctl("put", "expire/k", "v", "--lease", lease)
        deadline = time.time() + 10
        while time.time() < deadline and self.ctl("get", "expire/k").stdout:
            time.sleep(0.25)
        self.assertEqual(self.ctl("get", "expire/k").stdout, "")

    def test_lock_and_elect(self):
        env = dict(os.environ, ETCDCTL_API="3")
        holder = subprocess.Popen(["etcdctl", "--endpoints", self.server.endpoint, "lock", "L"],
                                  stdout=subprocess.PIPE, text=True, env=env)
        second = None
        try:
            self.assertTrue(holder.stdout.readline().startswith("L/"))
            second = subprocess.Popen(["etcdctl", "--endpoints", self.server.endpoint, "lock", "L"],
                                      stdout=subprocess.PIPE, text=True, env=env)
            time.sleep(1)
            self.assertIsNone(second.poll())  # still waiting: the lock is held
            holder.terminate()  # etcdctl releases the lock on SIGTERM
            holder.wait()
            self.assertTrue(second.stdout.readline().startswith("L/"))
        finally:
            for p in (holder, second):
                if p is not None:
                    p.kill()
                    p.wait()
        observer = None
        candidate = subprocess.Popen(["etcdctl", "--endpoints", self.server.endpoint, "elect", "E", "p1"],
                                     stdout=subprocess.PIPE, text=True, env=env)
        try:
            self.assertTrue(candidate.stdout.readline().startswith("E/"))
            self.assertEqual(candidate.stdout.readline(), "p1\n")
            observer = subprocess.Popen(["etcdctl", "--endpoints", self.server.endpoint, "elect", "-l", "E"],
                                        stdout=subprocess.PIPE, text=True, env=env)  # observes until killed
            self.assertTrue(observer.stdout.readline().startswith("E/"))
            self.assertEqual(observer.stdout.readline(), "p1\n")
        finally:
            for p in (candidate, observer):
                if p is None:
                    continue
                p.kill()
                p.wait()

    def test_maintenance(self):
        status = json.loads(self.ctl("endpoint", "status", "-w", "json").stdout)[0]["Status"]
        self.assertEqual(status["leader"], status["header"]["member_id"])
        self.assertIn("is healthy", self.ctl("endpoint", "health").stderr + self.ctl("endpoint", "health").stdout)
        hashkv = json.loads(self.ctl("endpoint", "hashkv", "-w", "json").stdout)[0]["HashKV"]
        self.assertIn("hash", hashkv)
        self.assertIn("Finished defragmenting", self.ctl("defrag").stdout)
        self.assertEqual(self.ctl("alarm", "list").stdout, "")
        self.assertEqual(len(self.ctl("member", "list").stdout.splitlines()), 1)

        with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
            path = os.path.join(tmp, "snap.db")
            self.assertIn("Snapshot saved at", self.ctl("snapshot", "save", path).stdout)
            self.assertEqual(os.path.getsize(path) % 512, 32)  # what etcdctl checks: sha256 trailer
            # The file is etcd's format: etcdctl's own status reads it (ringkv's revision, its keys).
            revision = json.loads(self.ctl("get", "none", "-w", "json").stdout)["header"]["revision"]
            status = json.loads(self.ctl("snapshot", "status", path, "-w", "json").stdout)
            self.assertEqual(status["revision"], revision)
            self.assertGreater(status["totalKey"], 0)

if __name__ == "__main__":
    unittest.main(verbosity=2)
