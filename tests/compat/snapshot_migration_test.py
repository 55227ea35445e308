"""tests/compat/snapshot_migration_test.py - migrating whole clusters between ringkv and real etcd 3.4
through `etcdctl snapshot save` (issue 18), as the README's how-to does it.

ringkv -> etcd: a 3-member ringkv cluster gets many revisions, overwrites, deletes, leases and a
compaction; `etcdctl snapshot save` against a ringkv member gives a file `etcdctl snapshot status`
accepts (ringkv's revision); `etcdctl snapshot restore` for 3 etcd members, and real etcd serves
exactly ringkv's data (key by key with create/mod revisions and versions, leases, compaction point,
`endpoint hashkv`).
etcd -> ringkv: more writes to that etcd cluster, `etcdctl snapshot save`, `ringkv snapshot restore`
for 3 members (each dir gets the ringkv.version marker), and ringkv serves exactly what etcd served.
Each direction's downtime (source stopped -> every new member healthy) is printed.
Users, roles and the auth switch travel both ways (etcd's authUsers/authRoles/auth buckets): what root
lists, what each user may read and write, and a user's password all hold after each migration.
A truncated or damaged ringkv-made snapshot is refused by `ringkv snapshot restore` and by etcdctl,
leaving no data dir. Every process is started here and stopped by its PID; loopback only.

usage: snapshot_migration_test.py RINGKV
"""
import base64
import json
import os
import shutil
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from loopback_ports import free_port  # noqa: E402
from etcd_snapshot_test import Member, SnapshotDirCase, run  # noqa: E402

RINGKV = None
TOKEN = "snapshot-test"  # Member's --initial-cluster-token


def b64(s):
    return base64.b64encode(s.encode()).decode()


def post(member, path, body):
    request = urllib.request.Request(member.client + path, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def write_history(member, tag, rounds):
    """Many revisions through the JSON gateway (fast): puts, overwrites, deletes, leased keys."""
    lease = json.loads(member.ctl("lease", "grant", "900", "-w", "json").stdout)["ID"]
    for i in range(rounds):
        post(member, "/v3/kv/put", {"key": b64("/%s/k%04d" % (tag, i)), "value": b64("v%d-" % i + "x" * (i % 50))})
    for i in range(0, rounds, 3):
        post(member, "/v3/kv/put", {"key": b64("/%s/k%04d" % (tag, i)), "value": b64("again%d" % i)})
    for i in range(0, rounds, 7):
        post(member, "/v3/kv/deleterange", {"key": b64("/%s/k%04d" % (tag, i))})
    for i in range(20):
        post(member, "/v3/kv/put", {"key": b64("/%s/leased/%d" % (tag, i)), "value": b64("l"), "lease": lease})
    return lease


def ctl_outcome(member, user, *args):
    """etcdctl as `user` ("name:password", or None): its output, or its error line when refused."""
    flags = ["--user", user] if user else []
    r = run(["etcdctl", "--endpoints", member.client] + flags + list(args), check=False)
    return r.stdout if r.returncode == 0 else "refused: " + r.stderr.strip().splitlines()[-1]


def auth_view(member, extra_users=()):
    """What root sees of users and roles, and what each user (and no user) may do."""
    view = {"users": ctl_outcome(member, "root:rootpw", "user", "list"),
            "roles": ctl_outcome(member, "root:rootpw", "role", "list")}
    for role in ("root", "reader", "writer"):
        view["role " + role] = ctl_outcome(member, "root:rootpw", "role", "get", role)
    for name, password in [("alice", "alicepw"), ("root", "rootpw")] + list(extra_users):
        view["user " + name] = ctl_outcome(member, "root:rootpw", "user", "get", name)
        who = name + ":" + password
        view[name + " get"] = ctl_outcome(member, who, "get", "/app/x", "--print-value-only")
        view[name + " put /app"] = ctl_outcome(member, who, "put", "/app/y", "v")
        view[name + " put /w"] = ctl_outcome(member, who, "put", "/w/" + name, "v")
    view["wrong password"] = ctl_outcome(member, "alice:nope", "get", "/app/x")
    view["no user"] = ctl_outcome(member, None, "get", "/app/x")
    return view


def healthy_cluster(members):
    for m in members:
        m.start()
    return members


class SnapshotMigration(SnapshotDirCase):
    def cluster(self, names, binary, snapshot=None, restore=None):
        """3 members of `binary`, fresh or each restored from `snapshot` with `restore` (a command)."""
        ports = [(free_port(), free_port()) for _ in names]
        spec = ",".join("%s=http://127.0.0.1:%d" % (n, p[1]) for n, p in zip(names, ports))
        members = []
        for name, (client_port, peer_port) in zip(names, ports):
            data_dir = self.path(name + ".data")
            if snapshot is not None:
                run(restore + ["snapshot", "restore", snapshot, "--data-dir", data_dir, "--name", name,
                               "--initial-cluster", spec, "--initial-cluster-token", TOKEN,
                               "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % peer_port])
            members.append(Member(binary, data_dir, name, client_port, peer_port, spec))
        self.members += members
        for m in members:
            m.launch()
        return healthy_cluster(members)

    def assert_same(self, got, want):
        self.assertEqual(got["revision"], want["revision"])
        self.assertEqual(len(got["kvs"]), len(want["kvs"]))
        for theirs, mine in zip(got["kvs"], want["kvs"]):
            self.assertEqual(theirs, mine)
        self.assertEqual(got["leases"], want["leases"])
        self.assertEqual(got["compact_revision"], want["compact_revision"])
        self.assertEqual(got["hash_kv"], want["hash_kv"])

    def stop_all(self, members):
        for m in members:
            m.stop()

    def test_ringkv_to_etcd_and_back(self):
        ringkv = self.cluster(["r1", "r2", "r3"], RINGKV)
        lease_a = write_history(ringkv[0], "a", 1500)
        rev = json.loads(ringkv[1].ctl("get", "/a/k0000", "-w", "json").stdout)["header"]["revision"]
        ringkv[0].ctl("compact", str(rev - 400))
        write_history(ringkv[2], "b", 300)  # written through a follower
        want = ringkv[0].state()
        self.assertEqual(len(want["leases"]), 2)
        self.assertEqual(ringkv[1].state()["hash_kv"], want["hash_kv"])

        # etcdctl snapshot save against a ringkv member: etcd's file, etcdctl's status reads it.
        saved = self.path("from-ringkv.db")
        save_started = time.monotonic()
        out = ringkv[1].ctl("snapshot", "save", saved).stdout
        save_ringkv_s = time.monotonic() - save_started
        self.assertIn("Snapshot saved at", out)
        status = json.loads(run(["etcdctl", "snapshot", "status", saved, "-w", "json"]).stdout)
        self.assertEqual(status["revision"], want["revision"])
        self.assertEqual(run([RINGKV, "snapshot", "status", saved, "-w", "json"]).stdout,
                         run(["etcdctl", "snapshot", "status", saved, "-w", "json"]).stdout)
        print("\netcdctl snapshot status (ringkv's file): %s" % json.dumps(status), flush=True)

        # Damaged copies are refused by both restores, leaving no data dir.
        with open(saved, "rb") as f:
            data = f.read()
        for what, bytes_ in {"truncated": data[:len(data) // 2], "flipped": data[:20000] + bytes([data[20000] ^ 1])
                             + data[20001:]}.items():
            bad = self.path("bad.db")
            with open(bad, "wb") as f:
                f.write(bytes_)
            before = sorted(os.listdir(self.dir))
            r = run([RINGKV, "snapshot", "restore", bad, "--data-dir", self.path("bad.data")], check=False)
            self.assertEqual(r.returncode, 1, what)
            self.assertTrue(r.stderr.startswith("Error: "), r.stderr)
            self.assertEqual(sorted(os.listdir(self.dir)), before)  # no data dir, no leftover
            r = run(["etcdctl", "snapshot", "restore", bad, "--data-dir", self.path("bad.data")], check=False)
            self.assertNotEqual(r.returncode, 0, what)
            shutil.rmtree(self.path("bad.data"), ignore_errors=True)  # etcdctl may leave its own
            os.unlink(bad)

        # ringkv -> etcd: stop ringkv, restore 3 etcd members, etcd serves ringkv's data exactly.
        started = time.monotonic()
        self.stop_all(ringkv)
        etcd = self.cluster(["e1", "e2", "e3"], "etcd", saved, ["etcdctl"])
        to_etcd_s = time.monotonic() - started
        for m in etcd:
            self.assert_same(m.state(), want)
        etcd[0].ctl("lease", "revoke", "%x" % lease_a)  # restored leases own their keys
        self.assertEqual(etcd[1].ctl("get", "/a/leased/", "--prefix", "--keys-only").stdout, "")

        # etcd -> ringkv: more history in etcd, then back to a 3-member ringkv.
        write_history(etcd[0], "c", 300)
        etcd[0].ctl("put", "/c/after", "migration")
        back = self.path("from-etcd.db")
        save_started = time.monotonic()
        self.assertIn("Snapshot saved at", etcd[2].ctl("snapshot", "save", back).stdout)
        save_etcd_s = time.monotonic() - save_started
        want_back = etcd[0].state()
        started = time.monotonic()
        self.stop_all(etcd)
        ringkv2 = self.cluster(["n1", "n2", "n3"], RINGKV, back, [RINGKV])
        to_ringkv_s = time.monotonic() - started
        for m in ringkv2:
            self.assertTrue(os.path.exists(os.path.join(m.data_dir, "ringkv.version")))
            self.assert_same(m.state(), want_back)
        ringkv2[0].ctl("put", "/after/restore", "x")
        self.assertEqual(ringkv2[2].ctl("get", "/after/restore", "--print-value-only").stdout, "x\n")
        print("%d keys, %d revisions: snapshot save from ringkv %.2f s (%d bytes), from etcd %.2f s (%d bytes); "
              "source stopped -> 3 restored members healthy: ringkv->etcd %.1f s, etcd->ringkv %.1f s"
              % (len(want["kvs"]), want["revision"], save_ringkv_s, os.path.getsize(saved), save_etcd_s,
                 os.path.getsize(back), to_etcd_s, to_ringkv_s), flush=True)

    def test_users_and_roles_travel_both_ways(self):
        """ringkv -> etcd -> ringkv with auth enabled: users (bcrypt hashes), roles, permissions, the
        enabled flag carried by the snapshot file, checked as etcd 3.4 itself answers."""
        (ringkv,) = self.cluster(["a1"], RINGKV)
        for args in (["user", "add", "root", "--new-user-password", "rootpw"], ["role", "add", "root"],
                     ["user", "grant-role", "root", "root"], ["role", "add", "reader"],
                     ["role", "grant-permission", "reader", "read", "/app/", "--prefix"],
                     ["user", "add", "alice", "--new-user-password", "alicepw"],
                     ["user", "grant-role", "alice", "reader"], ["put", "/app/x", "1"], ["auth", "enable"]):
            ringkv.ctl(*args)
        want = auth_view(ringkv)
        self.assertEqual(want["alice get"], "1\n")
        self.assertIn("permission denied", want["alice put /app"])
        self.assertIn("user name is empty", want["no user"])
        saved = self.path("auth-from-ringkv.db")
        ringkv.ctl("--user", "root:rootpw", "snapshot", "save", saved)
        self.stop_all([ringkv])
        (etcd,) = self.cluster(["b1"], "etcd", saved, ["etcdctl"])
        self.assertEqual(auth_view(etcd), want)

        for args in (["user", "add", "bob", "--new-user-password", "bobpw"], ["role", "add", "writer"],
                     ["role", "grant-permission", "writer", "readwrite", "/w/", "--prefix"],
                     ["user", "grant-role", "bob", "writer"]):
            etcd.ctl("--user", "root:rootpw", *args)
        want_back = auth_view(etcd, [("bob", "bobpw")])
        self.assertIn("OK", want_back["bob put /w"])
        back = self.path("auth-from-etcd.db")
        etcd.ctl("--user", "root:rootpw", "snapshot", "save", back)
        self.stop_all([etcd])
        (ringkv2,) = self.cluster(["c1"], RINGKV, back, [RINGKV])
        self.assertEqual(auth_view(ringkv2, [("bob", "bobpw")]), want_back)

    def test_at_most_two_snapshot_streams(self):
        """Two saves read the store at once; a third is answered etcd's "too many requests" at once."""
        import grpc
        from etcd3 import etcdrpc
        (member,) = self.cluster(["s1"], RINGKV)
        target = member.client.replace("http://", "")
        channels = [grpc.insecure_channel(target) for _ in range(3)]
        try:
            kv = etcdrpc.KVStub(channels[0])
            for i in range(2500):  # 20 MB: more than HTTP/2 windows and the server's queue limit hold
                kv.Put(etcdrpc.PutRequest(key=b"/big/%05d" % i, value=b"v" * 8192))
            streams = [etcdrpc.MaintenanceStub(c).Snapshot(etcdrpc.SnapshotRequest()) for c in channels[:2]]
            for stream in streams:
                self.assertGreater(len(next(stream).blob), 0)  # started, and now stalled on its reader
            third = etcdrpc.MaintenanceStub(channels[2]).Snapshot(etcdrpc.SnapshotRequest())
            with self.assertRaises(grpc.RpcError) as caught:
                next(third)
            self.assertEqual(caught.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
            self.assertEqual(caught.exception.details(), "etcdserver: too many requests")
            for stream in streams:
                stream.cancel()
            deadline = time.time() + 10  # the server notices the cancels; then a save works again
            while True:
                r = run(["etcdctl", "--endpoints", member.client, "snapshot", "save", self.path("again.db")],
                        check=False)
                if r.returncode == 0 or time.time() > deadline:
                    break
                time.sleep(0.2)
            self.assertEqual(r.returncode, 0, r.stderr)
        finally:
            for c in channels:
                c.close()


if __name__ == "__main__":
    RINGKV = os.path.abspath(sys.argv[1])
    unittest.main(argv=sys.argv[:1])
