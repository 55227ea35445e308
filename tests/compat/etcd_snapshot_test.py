"""tests/compat/etcd_snapshot_test.py - ringkv's etcd snapshot files against real etcd 3.4.

ringkv -> etcd: tests/bbolt/etcd_snapshot_tool writes a ringkv store (many revisions, deletes, txns,
leases, a compaction) as an etcd snapshot; `etcdctl snapshot status` must report ringkv's numbers,
`etcdctl snapshot restore` must accept it, and a real etcd started on the restored dir must serve
exactly ringkv's keys, values, create/mod revisions, versions, leases and HashKV.
etcd -> ringkv: more writes to that etcd, `etcdctl snapshot save`, and ringkv's reader must give the
same data etcd serves. `ringkv snapshot status` must print what etcdctl prints. Truncated or damaged
files are refused with a clear message. Every process is started here and stopped by its PID.

usage: etcd_snapshot_test.py TOOL RINGKV
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))
from loopback_ports import free_port  # noqa: E402

TOOL = RINGKV = None


def run(args, check=True, timeout=120):
    env = dict(os.environ, ETCDCTL_API="3")
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)
    if check and r.returncode != 0:
        raise AssertionError("%s failed (%d): %s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
    return r


class Member:
    """A real etcd or ringkv member on loopback ports, on a restored data dir (both take etcd's flags)."""

    def __init__(self, binary, data_dir, name, client_port, peer_port, initial_cluster=None):
        self.binary, self.data_dir, self.name = binary, data_dir, name
        self.client = "http://127.0.0.1:%d" % client_port
        self.peer = "http://127.0.0.1:%d" % peer_port
        self.initial_cluster = initial_cluster or "%s=%s" % (name, self.peer)
        self.proc = None

    def launch(self):
        self.log = open(os.path.join(os.path.dirname(self.data_dir), self.name + ".log"), "w")
        self.proc = subprocess.Popen(
            [self.binary, "--name", self.name, "--data-dir", self.data_dir,
             "--listen-client-urls", self.client, "--advertise-client-urls", self.client,
             "--listen-peer-urls", self.peer, "--initial-advertise-peer-urls", self.peer,
             "--initial-cluster", self.initial_cluster, "--initial-cluster-token", "snapshot-test"],
            stdout=self.log, stderr=subprocess.STDOUT)
        return self

    def start(self):
        if self.proc is None:
            self.launch()
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(self.binary + " exited: " + open(self.log.name).read()[-2000:])
            try:
                with urllib.request.urlopen(self.client + "/health", timeout=1) as r:
                    if json.loads(r.read()).get("health") == "true":
                        return self
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(self.binary + " did not become healthy: " + open(self.log.name).read()[-2000:])

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.log.close()
        self.proc = None

    def ctl(self, *args):
        return run(["etcdctl", "--endpoints", self.client] + list(args))

    def state(self):
        """What etcd serves, in the tool's JSON shape."""
        got = json.loads(self.ctl("get", "", "--prefix", "-w", "json").stdout)
        kvs = [{"key": kv["key"], "value": kv.get("value", ""), "create_revision": kv["create_revision"],
                "mod_revision": kv["mod_revision"], "version": kv["version"], "lease": kv.get("lease", 0)}
               for kv in got.get("kvs", [])]
        leases = []
        for lease in json.loads(self.ctl("lease", "list", "-w", "json").stdout).get("leases") or []:
            ttl = json.loads(self.ctl("lease", "timetolive", "%x" % lease["id"], "-w", "json").stdout)
            leases.append({"id": lease["id"], "ttl": ttl["granted-ttl"]})
        hashkv = json.loads(self.ctl("endpoint", "hashkv", "-w", "json").stdout)[0]["HashKV"]
        return {"revision": got["header"]["revision"], "kvs": kvs, "leases": sorted(leases, key=lambda x: x["id"]),
                "hash_kv": hashkv["hash"], "compact_revision": hashkv["compact_revision"]}


def tool(*args, check=True):
    r = run([TOOL] + list(args), check=check)
    return json.loads(r.stdout) if check else r


def b64(s):
    return base64.b64encode(s.encode()).decode()


class SnapshotDirCase(unittest.TestCase):
    """A temporary dir for snapshots and data dirs; the members started are stopped (by PID) at the end."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ringkv-etcd-snapshot-")
        self.members = []

    def tearDown(self):
        for m in self.members:
            m.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)


class EtcdSnapshot(SnapshotDirCase):
    def restore_and_start(self, snapshot, name, binary="etcd"):
        return self.restore_cluster(snapshot, [name], binary)[0]

    def restore_cluster(self, snapshot, names, binary):
        """Restores `snapshot` for every member (etcdctl for etcd, ringkv's own command for ringkv),
        then starts them all."""
        ports = [(free_port(), free_port()) for _ in names]
        cluster = ",".join("%s=http://127.0.0.1:%d" % (n, p[1]) for n, p in zip(names, ports))
        restore = ["etcdctl"] if binary == "etcd" else [RINGKV]
        members = []
        for name, (client_port, peer_port) in zip(names, ports):
            data_dir = self.path(name + ".data")
            run(restore + ["snapshot", "restore", snapshot, "--data-dir", data_dir, "--name", name,
                               "--initial-cluster", cluster, "--initial-cluster-token", "snapshot-test",
                               "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % peer_port])
            members.append(Member(binary, data_dir, name, client_port, peer_port, cluster))
        self.members += members
        for m in members:
            m.launch()
        return [m.start() for m in members]

    def assert_serves(self, member, want):
        """`member` serves exactly `want` (the tool's JSON or another member's state)."""
        got = member.state()
        self.assertEqual(got["revision"], want["revision"])
        self.assertEqual(len(got["kvs"]), len(want["kvs"]))
        for theirs, mine in zip(got["kvs"], want["kvs"]):
            self.assertEqual(theirs, mine)
        self.assertEqual(got["leases"], [{"id": x["id"], "ttl": x["ttl"]} for x in want["leases"]])
        self.assertEqual(got["compact_revision"], want["compact_revision"])
        self.assertEqual(got["hash_kv"], want["hash_kv"])

    def check_status(self, snapshot, expected):
        """etcdctl's and ringkv's `snapshot status` agree with each other and with `expected`."""
        got = json.loads(run(["etcdctl", "snapshot", "status", snapshot, "-w", "json"]).stdout)
        self.assertEqual(got, {"hash": expected["hash"], "revision": expected["revision"],
                               "totalKey": expected["total_keys"], "totalSize": expected["total_size"]})
        for fmt in ("json", "table", "simple"):
            mine = run([RINGKV, "snapshot", "status", snapshot, "-w", fmt]).stdout
            theirs = run(["etcdctl", "snapshot", "status", snapshot, "-w", fmt]).stdout
            self.assertEqual(mine, theirs, fmt)

    def test_ringkv_snapshot_restores_into_real_etcd(self):
        snap = self.path("ringkv.db")
        want = tool("make", snap, "20000")
        self.check_status(snap, want["status"])
        self.assertEqual(want["status"]["revision"], want["revision"])
        etcd = self.restore_and_start(snap, "restored")
        self.assert_serves(etcd, want)
        # The restored leases still own their keys.
        etcd.ctl("lease", "revoke", "%x" % 0x1111)
        self.assertEqual(etcd.ctl("get", "/wl/leased/", "--prefix", "--keys-only").stdout.split(), ["/wl/leased/c"])

    def test_etcd_snapshot_loads_into_ringkv(self):
        snap = self.path("ringkv.db")
        tool("make", snap, "3000")
        etcd = self.restore_and_start(snap, "source")
        # More history written by etcd itself: puts, deletes, a txn, leases, a compaction.
        for i in range(300):
            etcd.ctl("put", "/etcd/k%03d" % i, "v%d" % i)
        for i in range(0, 300, 3):
            etcd.ctl("put", "/etcd/k%03d" % i, "again%d" % i)
        etcd.ctl("del", "/etcd/k01", "--prefix")
        lease = json.loads(etcd.ctl("lease", "grant", "500", "-w", "json").stdout)["ID"]
        etcd.ctl("put", "/etcd/leased", "x", "--lease", "%x" % lease)
        rev = json.loads(etcd.ctl("get", "/etcd/k000", "-w", "json").stdout)["header"]["revision"]
        etcd.ctl("compact", str(rev - 50), "--physical")
        etcd.ctl("put", "/etcd/after", "compaction")
        saved = self.path("etcd.db")
        etcd.ctl("snapshot", "save", saved)
        want = etcd.state()
        got = tool("dump", saved)
        self.assertEqual(got["revision"], want["revision"])
        self.assertEqual(got["compact_revision"], want["compact_revision"])
        self.assertEqual(len(got["kvs"]), len(want["kvs"]))
        for mine, theirs in zip(got["kvs"], want["kvs"]):
            self.assertEqual(mine, theirs)
        self.assertEqual([{"id": x["id"], "ttl": x["ttl"]} for x in got["leases"]], want["leases"])
        self.assertEqual(got["hash_kv"], want["hash_kv"])
        # etcd 3.4's restore leaves the snapshot's old `members` records in place (its cleanup deletes
        # keys through the MVCC layer, not the bucket), so the ringkv member written earlier is still there.
        self.assertEqual(sorted(m["name"] for m in got["members"]), ["ringkv-1", "source"])
        self.check_status(saved, got["status"])
        # etcd's snapshot restored into ringkv serves what etcd served.
        etcd.stop()
        ringkv = self.restore_and_start(saved, "from-etcd", RINGKV)
        self.assert_serves(ringkv, want)
        ringkv.stop()

        # A damaged or truncated snapshot is refused with a clear message.
        with open(saved, "rb") as f:
            data = f.read()
        cases = {"truncated": data[:len(data) // 2], "one byte short": data[:-1],
                 "flipped": data[:8192] + bytes([data[8192] ^ 1]) + data[8193:]}
        for what, bytes_ in cases.items():
            bad = self.path("bad.db")
            with open(bad, "wb") as f:
                f.write(bytes_)
            r = run([RINGKV, "snapshot", "restore", bad, "--data-dir", self.path("bad.data")], check=False)
            self.assertEqual(r.returncode, 1, what)
            self.assertTrue(r.stderr.startswith("Error: "), r.stderr)
            self.assertEqual(sorted(os.listdir(self.dir)), ["bad.db", "etcd.db", "from-etcd.data", "from-etcd.log",
                                                            "ringkv.db", "source.data", "source.log"])
            r = tool("dump", bad, check=False)
            self.assertEqual(r.returncode, 1, what)
            self.assertTrue(r.stderr.startswith("error: "), r.stderr)
            self.assertTrue("sha256" in r.stderr or "bbolt" in r.stderr, r.stderr)
            # status reads the database part only, like etcdctl's. ringkv never accepts a file etcdctl
            # refuses; it may refuse more: it checks every page header it reads (bbolt does not check a
            # page's id), and whether the flipped byte lands in a page etcd's walk reads depends on how
            # etcd laid the file out in that run.
            mine = run([RINGKV, "snapshot", "status", bad], check=False)
            theirs = run(["etcdctl", "snapshot", "status", bad], check=False)
            if theirs.returncode != 0:
                self.assertNotEqual(mine.returncode, 0, (what, mine.stdout, theirs.stderr))
            if mine.returncode != 0:
                self.assertTrue(mine.stderr.startswith("Error: "), mine.stderr)
                if theirs.returncode == 0:
                    self.assertEqual(what, "flipped", (mine.stderr, theirs.stdout))
                    self.assertIn("bbolt: page ", mine.stderr)
            else:
                self.assertEqual(mine.stdout, theirs.stdout, what)
    def test_ringkv_snapshot_restores_into_a_ringkv_cluster(self):
        snap = self.path("ringkv.db")
        want = tool("make", snap, "3000")
        members = self.restore_cluster(snap, ["m1", "m2", "m3"], RINGKV)
        for m in members:
            self.assert_serves(m, want)
        members[0].ctl("put", "/after/restore", "x")
        self.assertEqual(members[2].ctl("get", "/after/restore", "--print-value-only").stdout, "x\n")
        self.assertEqual(members[2].ctl("member", "list", "-w", "json").stdout.count('"name"'), 3)


if __name__ == "__main__":
    TOOL, RINGKV = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    unittest.main(argv=sys.argv[:1])
