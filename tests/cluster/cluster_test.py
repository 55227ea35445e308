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
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import etcd3

# The server suite's process helper: it takes the binary from argv[1], free ports, stop/kill by PID,
# cleanup of the data dir and log.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))
import ringkv_process  # noqa: E402
from ringkv_process import RingkvServer, free_port  # noqa: E402

HEARTBEAT_MS = 50
ELECTION_MS = 500
START_TIMEOUT_S = 20
# Slack on top of "2 election timeouts" for the client and process scheduling on a busy 2-core machine
# (ASan builds, or other tests' processes on the same cores: 1.5 s was seen there once; quiet runs measure
# 0.5-0.7 s, reported in docs/performance.md). A failover taking several election rounds still fails.
FAILOVER_SLACK_S = 0.8


class Member(RingkvServer):
    """One cluster member: a client port (self.port) and a peer port, its own data dir."""

    def __init__(self, name, token, extra_args=()):
        super().__init__(extra_args)
        self.name = name
        self.token = token
        self.peer_port = free_port()         # advertised in --initial-cluster
        self.listen_peer_port = self.peer_port  # where it listens (another port behind a peer proxy)
        self.initial_cluster = None

    @property
    def client_port(self):
        return self.port

    @property
    def peer_url(self):
        return "http://127.0.0.1:%d" % self.peer_port

    def launch(self):
        """Starts the process without waiting: a member is healthy only once a quorum has started."""
        client_url = "http://127.0.0.1:%d" % self.port
        args = [ringkv_process.RINGKV, "--name", self.name, "--data-dir", self.data_dir,
                "--listen-client-urls", client_url, "--advertise-client-urls", client_url,
                "--listen-peer-urls", "http://127.0.0.1:%d" % self.listen_peer_port,
                "--initial-advertise-peer-urls", self.peer_url,
                "--initial-cluster", self.initial_cluster, "--initial-cluster-token", self.token,
                "--initial-cluster-state", "new",
                "--heartbeat-interval", str(HEARTBEAT_MS), "--election-timeout", str(ELECTION_MS)] + self.extra_args
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def status(self):
        """endpoint status as a dict (leader, raftTerm, raftIndex, header.member_id), or None."""
        result = self.etcdctl("endpoint", "status", "-w", "json", check=False, timeout=10)
        if result.returncode != 0:
            return None
        return json.loads(result.stdout)[0]["Status"]

    def member_id(self):
        return self.status()["header"]["member_id"]

    def client(self, timeout):
        """A python-etcd3 client of this member (a TLS member's adds its certificates)."""
        return etcd3.client(host="127.0.0.1", port=self.client_port, timeout=timeout)

    def is_leader(self):
        """Whether this member's own Status names itself leader (None if it does not answer)."""
        status = self.status()
        return None if status is None else status.get("leader", 0) == status["header"]["member_id"]


class Cluster:
    def __init__(self, size=3, extra_args=(), proxies=None, member=Member):
        """proxies: a peer_proxy.PeerProxies; each member's peer traffic then goes through it.
        member: makes each member from (name, token, extra_args), e.g. a TLS member."""
        token = "ringkv-test-%d" % os.getpid()
        self.members = [member("n%d" % (i + 1), token, extra_args) for i in range(size)]
        initial = ",".join("%s=%s" % (m.name, m.peer_url) for m in self.members)
        for m in self.members:
            m.initial_cluster = initial
            if proxies is not None:
                m.listen_peer_port = free_port()
                proxies.add(m.peer_port, m.listen_peer_port)

    def start(self):
        for m in self.members:
            m.launch()
        return self

    def cleanup(self):
        failures = []
        for m in self.members:  # each: SIGTERM by PID (must exit 0), data dir and log removed
            try:
                m.cleanup()
            except AssertionError as error:
                failures.append("%s: %s" % (m.name, error))
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


def assert_acknowledged_everywhere(test, cluster, acknowledged, prefix="load/"):
    """Every live member holds every acknowledged write of `acknowledged` {key: value} (linearizable get)."""
    for m in cluster.live():
        got = m.etcdctl("get", prefix, "--prefix", "-w", "json", timeout=60).stdout
        kvs = json.loads(got).get("kvs", [])
        stored = {base64.b64decode(kv["key"]).decode(): base64.b64decode(kv["value"]).decode() for kv in kvs}
        missing = [k for k, v in acknowledged.items() if stored.get(k) != v]
        test.assertEqual(missing, [], "%s lost acknowledged writes" % m.name)


class WriteLoad:
    """Writer threads putting load/<worker>/<i> round-robin over the members; a write that fails (client
    timeout, no leader) moves the writer to the next member and is not counted as acknowledged."""

    def __init__(self, cluster, writers=3, timeout_s=0.5):
        self.cluster = cluster
        self.timeout_s = timeout_s
        self.acknowledged = {}
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.threads = [threading.Thread(target=self._write, args=(w,)) for w in range(writers)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def count(self):
        with self.lock:
            return len(self.acknowledged)

    def stop(self):
        self.stop_event.set()
        for t in self.threads:
            t.join()
        return dict(self.acknowledged)

    def _write(self, worker):
        # A short client timeout: a write a follower forwarded to a dead leader is lost (as in etcd) and
        # retried on another member, as etcd clients do.
        members = self.cluster.members
        clients = [m.client(self.timeout_s) for m in members]
        i = 0
        target = worker
        while not self.stop_event.is_set():
            key, value = "load/%d/%d" % (worker, i), "v%d" % i
            if members[target % len(members)].proc is None:
                target += 1
                continue
            try:
                clients[target % len(clients)].put(key, value)
            except Exception:
                target += 1  # another member; this write was not acknowledged
                continue
            with self.lock:
                self.acknowledged[key] = value
            i += 1


def time_failover(cluster, old_leader, member_ids, since, limit_s=10):
    """Polls the survivors until one leads and acknowledges a write; returns when (or None)."""
    survivors = [m for m in cluster.members if m is not old_leader]
    probes = {m.name: m.client(0.5) for m in survivors}
    while time.time() < since + limit_s:
        for m in survivors:
            try:
                status = probes[m.name].status()
                if status.leader is not None and status.leader.id == member_ids[m.name]:
                    probes[m.name].put("failover-probe", m.name)
                    return time.time()
            except Exception:
                pass  # no leader yet, or the write was not acknowledged
        time.sleep(0.01)
    return None


def kill_leader_under_writes(test, cluster):
    """kill -9 of the leader under 3 writers: a new leader acknowledges a write within 2 election
    timeouts; after the old leader restarts every acknowledged write is on every member, equal HashKV."""
    old_leader = cluster.agreed_leader()
    test.assertIsNotNone(old_leader, "no agreed leader")
    member_ids = {m.name: m.member_id() for m in cluster.members}
    load = WriteLoad(cluster).start()
    time.sleep(1.0)
    before_kill = load.count()
    old_leader.kill()
    kill_time = time.time()
    served_time = time_failover(cluster, old_leader, member_ids, kill_time)
    time.sleep(1.0)  # the load goes on against the new leader
    acknowledged = load.stop()

    test.assertGreater(before_kill, 0, "no write was acknowledged before the kill")
    test.assertIsNotNone(served_time, "no new leader served a write within 10 s")
    failover_s = served_time - kill_time
    print("failover (%d members): the new leader acknowledged a write %.3f s after kill -9 of the leader"
          % (len(cluster.members), failover_s))
    test.assertLessEqual(failover_s, 2 * ELECTION_MS / 1000 + FAILOVER_SLACK_S)
    test.assertGreater(len(acknowledged), before_kill, "the load made no progress after the kill")
    new_leader = cluster.agreed_leader()
    test.assertIsNotNone(new_leader)
    test.assertIsNot(new_leader, old_leader)

    old_leader.launch()  # same data dir and flags: it rejoins from its WAL
    test.assertIsNotNone(cluster.agreed_leader())
    hashes = cluster.wait_converged()
    test.assertEqual(len(hashes), len(cluster.members), hashes)
    test.assertEqual(len(set(hashes.values())), 1, hashes)
    assert_acknowledged_everywhere(test, cluster, acknowledged)
    print("acknowledged writes: %d, present on all %d members" % (len(acknowledged), len(cluster.members)))


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
            kill_leader_under_writes(self, cluster)
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
            self.assertEqual(follower.stop(), 0)  # SIGTERM
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


class ClusterFlags(unittest.TestCase):
    def run_member(self, *flags):
        data_dir = tempfile.mkdtemp(prefix="ringkv-cluster-flags-", dir="/tmp")
        try:
            peer = "http://127.0.0.1:%d" % free_port()
            other = "http://127.0.0.1:%d" % free_port()
            client = "http://127.0.0.1:%d" % free_port()
            args = [ringkv_process.RINGKV, "--name", "n1", "--data-dir", data_dir,
                    "--listen-client-urls", client, "--listen-peer-urls", peer,
                    "--initial-cluster", "n1=%s,n2=%s" % (peer, other)] + [f.replace("PEER", peer) for f in flags]
            return subprocess.run(args, capture_output=True, text=True, timeout=20)
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)

    def test_advertised_peer_urls_must_match_the_initial_cluster_entry(self):
        result = self.run_member("--initial-advertise-peer-urls", "http://127.0.0.1:1")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("does not match the --initial-cluster entry", result.stdout + result.stderr)

    def test_joining_when_no_member_answers_is_refused_clearly(self):
        # --initial-cluster-state existing with an empty data dir asks the listed members for the
        # membership; here the only other member is not running.
        result = self.run_member("--initial-advertise-peer-urls", "PEER", "--initial-cluster-state", "existing")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("cannot join the cluster: no member listed in --initial-cluster answered",
                      result.stdout + result.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
