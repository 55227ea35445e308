"""tests/cluster/cluster_test.py - three real `ringkv` processes as one raft cluster on loopback.

The binary is the first command-line argument (meson passes the built executable). Every member gets
free loopback client and peer ports and a temporary data dir under /tmp; every process is stopped by
PID in cleanup (SIGTERM, SIGKILL if it does not exit) and its data dir removed. Short timing
(--heartbeat-interval 50, --election-timeout 500) keeps elections fast.

What a user relies on:
- three members started with one --initial-cluster elect exactly one leader that all agree on;
  `endpoint status` names it, `member list` lists all three with their peer URLs;
- a put sent to a follower is forwarded and committed; a linearizable get on every member sees it;
- kill -9 of the leader during a write load: a new leader serves writes within 2 election timeouts;
  after the old leader restarts, every acknowledged write is on every member and HashKV is equal.
"""
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import etcd3

RINGKV = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else os.environ.get("RINGKV", "build/ringkv")
HEARTBEAT_MS = 50
ELECTION_MS = 500
START_TIMEOUT_S = 20
STOP_TIMEOUT_S = 15
# Slack on top of "2 election timeouts" for the client and process scheduling on a busy 2-core machine.
FAILOVER_SLACK_S = 0.3


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Member:
    def __init__(self, name, token, extra_args=()):
        self.name = name
        self.extra_args = list(extra_args)
        self.token = token
        self.client_port = free_port()
        self.peer_port = free_port()
        self.data_dir = tempfile.mkdtemp(prefix="ringkv-cluster-%s-" % name, dir="/tmp")
        self.log_path = self.data_dir + ".log"
        self.proc = None
        self.initial_cluster = None

    @property
    def endpoint(self):
        return "127.0.0.1:%d" % self.client_port

    @property
    def peer_url(self):
        return "http://127.0.0.1:%d" % self.peer_port

    def launch(self):
        client_url = "http://127.0.0.1:%d" % self.client_port
        args = [RINGKV, "--name", self.name, "--data-dir", self.data_dir,
                "--listen-client-urls", client_url, "--advertise-client-urls", client_url,
                "--listen-peer-urls", self.peer_url, "--initial-advertise-peer-urls", self.peer_url,
                "--initial-cluster", self.initial_cluster, "--initial-cluster-token", self.token,
                "--initial-cluster-state", "new",
                "--heartbeat-interval", str(HEARTBEAT_MS), "--election-timeout", str(ELECTION_MS)] + self.extra_args
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def kill(self):
        """SIGKILL by PID (a crash)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc = None

    def stop(self):
        """SIGTERM by PID; returns the exit code (SIGKILL and an error if it does not exit)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is not None:
            code = self.proc.returncode
            self.proc = None
            return code if code != 0 else -1
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            code = -2
        self.proc = None
        return code

    def etcdctl(self, *args, check=True, timeout=20):
        env = dict(os.environ, ETCDCTL_API="3")
        result = subprocess.run(["etcdctl", "--endpoints", self.endpoint, "--command-timeout=5s"] + list(args),
                                capture_output=True, text=True, env=env, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError("etcdctl %s on %s failed (%d): %s%s\nlog:\n%s" % (
                " ".join(args), self.name, result.returncode, result.stdout, result.stderr, self.log_text()[-4000:]))
        return result

    def status(self):
        """endpoint status as a dict (leader, raftTerm, raftIndex, header.member_id), or None."""
        result = self.etcdctl("endpoint", "status", "-w", "json", check=False, timeout=10)
        if result.returncode != 0:
            return None
        return json.loads(result.stdout)[0]["Status"]


class Cluster:
    def __init__(self, size=3, extra_args=()):
        token = "ringkv-test-%d" % os.getpid()
        self.members = [Member("n%d" % (i + 1), token, extra_args) for i in range(size)]
        initial = ",".join("%s=%s" % (m.name, m.peer_url) for m in self.members)
        for m in self.members:
            m.initial_cluster = initial

    def start(self):
        for m in self.members:
            m.launch()
        return self

    def cleanup(self):
        failures = []
        for m in self.members:
            code = m.stop()
            if code != 0:
                failures.append("%s exited with %s; its log:\n%s" % (m.name, code, m.log_text()[-4000:]))
        for m in self.members:
            shutil.rmtree(m.data_dir, ignore_errors=True)
            try:
                os.unlink(m.log_path)
            except OSError:
                pass
        if failures:
            raise AssertionError("\n".join(failures))

    def live(self):
        return [m for m in self.members if m.alive()]

    def agreed_leader(self, timeout_s=START_TIMEOUT_S):
        """The member every live member names as leader (statuses agree), or None after the timeout."""
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            for m in self.members:
                if m.proc is not None and not m.alive():
                    raise AssertionError("%s exited:\n%s" % (m.name, m.log_text()[-4000:]))
            statuses = [(m, m.status()) for m in self.live()]
            leaders = {s.get("leader", 0) for _, s in statuses if s}
            if all(s for _, s in statuses) and len(leaders) == 1 and 0 not in leaders:
                leader_id = leaders.pop()
                for m, s in statuses:
                    if s["header"]["member_id"] == leader_id:
                        return m
            time.sleep(0.1)
        return None

    def wait_converged(self, timeout_s=15):
        """Waits until every live member has applied the same revision; returns {name: hashkv}."""
        deadline = time.time() + timeout_s
        hashes = {}
        while time.time() < deadline:
            hashes = {}
            for m in self.live():
                result = m.etcdctl("endpoint", "hashkv", "-w", "json", check=False, timeout=10)
                if result.returncode == 0:
                    entry = json.loads(result.stdout)[0]["HashKV"]
                    hashes[m.name] = (entry["header"]["revision"], entry["hash"])
            if len(hashes) == len(self.live()) and len(set(hashes.values())) == 1:
                return hashes
            time.sleep(0.2)
        return hashes


class ThreeMemberCluster(unittest.TestCase):
    def test_elects_one_leader_and_replicates_to_every_member(self):
        cluster = Cluster().start()
        try:
            leader = cluster.agreed_leader()
            self.assertIsNotNone(leader, "no agreed leader; logs:\n" + "\n".join(m.log_text()[-2000:] for m in cluster.members))
            roles = [m.status().get("leader", 0) == m.status()["header"]["member_id"] for m in cluster.members]
            self.assertEqual(roles.count(True), 1)

            members = json.loads(leader.etcdctl("member", "list", "-w", "json").stdout)["members"]
            self.assertEqual(sorted(m["name"] for m in members), ["n1", "n2", "n3"])
            self.assertEqual(sorted(m["peerURLs"][0] for m in members), sorted(m.peer_url for m in cluster.members))

            follower = next(m for m in cluster.members if m is not leader)
            follower.etcdctl("put", "from-follower", "f1")  # forwarded to the leader
            leader.etcdctl("put", "from-leader", "l1")
            for m in cluster.members:  # linearizable (the default): ReadIndex through the leader
                self.assertEqual(m.etcdctl("get", "from-follower", "--print-value-only").stdout.strip(), "f1", m.name)
                self.assertEqual(m.etcdctl("get", "from-leader", "--print-value-only").stdout.strip(), "l1", m.name)
            status = leader.status()
            self.assertGreaterEqual(status["raftIndex"], 3)  # bootstrap, leader's empty entry, two puts
            self.assertGreaterEqual(status["raftTerm"], 1)
            self.assertEqual(len(set(cluster.wait_converged().values())), 1)
        finally:
            cluster.cleanup()

    def test_leader_kill_9_under_writes_loses_no_acknowledged_write(self):
        cluster = Cluster().start()
        try:
            old_leader = cluster.agreed_leader()
            self.assertIsNotNone(old_leader, "no agreed leader")
            acknowledged = {}
            lock = threading.Lock()
            stop = threading.Event()
            first_ack_after_kill = []
            kill_time = []

            def writer(worker):
                clients = [etcd3.client(host="127.0.0.1", port=m.client_port, timeout=2) for m in cluster.members]
                i = 0
                target = worker
                while not stop.is_set():
                    key, value = "load/%d/%d" % (worker, i), "v%d" % i
                    member = cluster.members[target % len(cluster.members)]
                    if member.proc is None:
                        target += 1
                        continue
                    started = time.time()
                    try:
                        clients[target % len(clients)].put(key, value)
                    except Exception:
                        target += 1  # another member; this write was not acknowledged
                        continue
                    with lock:
                        acknowledged[key] = value
                        if kill_time and started >= kill_time[0] and not first_ack_after_kill:
                            first_ack_after_kill.append(time.time())  # a write issued after the kill
                    i += 1

            threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
            for t in threads:
                t.start()
            time.sleep(1.0)
            with lock:
                before_kill = len(acknowledged)
            old_leader.kill()
            with lock:
                kill_time.append(time.time())
            time.sleep(3.0)
            stop.set()
            for t in threads:
                t.join()

            self.assertGreater(before_kill, 0, "no write was acknowledged before the kill")
            self.assertTrue(first_ack_after_kill, "no write acknowledged after the leader was killed")
            failover_s = first_ack_after_kill[0] - kill_time[0]
            print("failover: first write acknowledged %.3f s after kill -9 of the leader" % failover_s)
            self.assertLessEqual(failover_s, 2 * ELECTION_MS / 1000 + FAILOVER_SLACK_S)
            new_leader = cluster.agreed_leader()
            self.assertIsNotNone(new_leader)
            self.assertIsNot(new_leader, old_leader)

            old_leader.launch()  # same data dir and flags: it rejoins from its WAL
            self.assertIsNotNone(cluster.agreed_leader())
            hashes = cluster.wait_converged()
            self.assertEqual(len(hashes), 3, hashes)
            self.assertEqual(len(set(hashes.values())), 1, hashes)
            for m in cluster.members:
                got = m.etcdctl("get", "load/", "--prefix", "-w", "json", timeout=60).stdout
                kvs = json.loads(got).get("kvs", [])
                stored = {base64.b64decode(kv["key"]).decode(): base64.b64decode(kv["value"]).decode() for kv in kvs}
                missing = [k for k, v in acknowledged.items() if stored.get(k) != v]
                self.assertEqual(missing, [], "%s lost acknowledged writes" % m.name)
            print("acknowledged writes: %d, present on all 3 members" % len(acknowledged))
        finally:
            cluster.cleanup()

    def test_follower_catches_up_by_snapshot_and_move_leader_transfers_to_it(self):
        cluster = Cluster(extra_args=["--snapshot-count", "20"]).start()
        try:
            leader = cluster.agreed_leader()
            self.assertIsNotNone(leader, "no agreed leader")
            follower = next(m for m in cluster.members if m is not leader)
            follower.kill()
            client = etcd3.client(host="127.0.0.1", port=leader.client_port, timeout=5)
            for i in range(120):  # several snapshots: the leader's log no longer reaches back to the follower
                client.put("snap/%03d" % i, "v%d" % i)
            deadline = time.time() + 10
            while "saved snapshot" not in leader.log_text() and time.time() < deadline:
                time.sleep(0.1)
            self.assertIn("saved snapshot", leader.log_text())

            follower.launch()
            hashes = cluster.wait_converged()
            self.assertEqual(len(hashes), 3, hashes)
            self.assertEqual(len(set(hashes.values())), 1, hashes)
            self.assertIn("installed snapshot from the leader", follower.log_text())
            got = follower.etcdctl("get", "snap/", "--prefix", "--print-value-only").stdout.split()
            self.assertEqual(got, ["v%d" % i for i in range(120)])

            # The restarted member holds the snapshot durably: it comes back with the data on its own.
            self.assertEqual(follower.stop(), 0)
            follower.launch()
            self.assertEqual(len(set(cluster.wait_converged().values())), 1)

            # MoveLeader (sent to the leader by etcdctl) hands leadership to the caught-up member.
            self.assertIsNotNone(cluster.agreed_leader())
            follower_id = follower.status()["header"]["member_id"]
            endpoints = ",".join(m.endpoint for m in cluster.members)
            env = dict(os.environ, ETCDCTL_API="3")
            moved = subprocess.run(["etcdctl", "--endpoints", endpoints, "move-leader", "%x" % follower_id],
                                   capture_output=True, text=True, env=env, timeout=30)
            self.assertEqual(moved.returncode, 0, moved.stdout + moved.stderr)
            self.assertIs(cluster.agreed_leader(), follower)
            follower.etcdctl("put", "after-move", "ok")
            for m in cluster.members:
                self.assertEqual(m.etcdctl("get", "after-move", "--print-value-only").stdout.strip(), "ok")
        finally:
            cluster.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
