"""tests/cluster/membership_test.py - membership changes at run time on real `ringkv` processes.

The binary is the first command-line argument (meson passes it). Members use free loopback ports and
temporary data dirs; every process is stopped by PID in cleanup. Helpers (Member, Cluster, WriteLoad)
come from cluster_test.py.

What a user relies on:
- `etcdctl member list` on any member shows every member's name, peer URLs and client URLs;
- `etcdctl member add` prints etcd's ETCD_INITIAL_CLUSTER... lines; the new member started with
  `--initial-cluster-state existing` learns its ids from the cluster, catches up (by snapshot when the
  leader compacted its log), serves the same data (equal HashKV), shows in `member list` by name, and
  keeps its ids across a restart whatever --initial-cluster then says;
- a learner is added, catches up and is promoted; a member's peer URL is updated (it restarts on it);
  a follower and then the leader are removed (each exits with etcd's log line, a new leader is
  elected) - all under a write load, after which every acknowledged write is on every remaining member;
- two changes sent at once both succeed (raft takes one at a time, the other waits);
- a learner refuses what etcd 3.4's refuses (every call but Status and serializable Range, every
  stream) with etcd's code and message, and `member promote` sent to a follower is decided by the
  leader (etcd's errors, then the promotion);
- a member started alone grows by `member add` (its peer port opens then), the new member joins, and
  restarts of both (in turn under writes, then together) lose no acknowledged write;
- a member started with `existing` that was never added exits with a message saying to add it first;
- error cases answer etcd 3.4's codes and messages, checked against a real etcd.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster_test  # noqa: E402  (imports ringkv_process, which takes the binary from argv[1])
from cluster_test import Cluster, Member, WriteLoad, assert_acknowledged_everywhere  # noqa: E402
from ringkv_process import free_port  # noqa: E402

SNAPSHOT_COUNT = 50  # small: the leader compacts its log before a member joins
EXIT_TIMEOUT_S = 10


class Joiner(Member):
    """A member started with --initial-cluster-state existing (after `member add`)."""

    def __init__(self, name, token, initial_cluster, peer_port, extra_args=()):
        super().__init__(name, token, extra_args)
        self.peer_port = self.listen_peer_port = peer_port
        self.initial_cluster = initial_cluster
        self.state = "existing"

    def launch(self):
        client_url = "http://127.0.0.1:%d" % self.port
        args = [cluster_test.ringkv_process.RINGKV, "--name", self.name, "--data-dir", self.data_dir,
                "--listen-client-urls", client_url, "--advertise-client-urls", client_url,
                "--listen-peer-urls", "http://127.0.0.1:%d" % self.listen_peer_port,
                "--initial-advertise-peer-urls", self.peer_url,
                "--initial-cluster", self.initial_cluster, "--initial-cluster-token", self.token,
                "--initial-cluster-state", self.state,
                "--heartbeat-interval", str(cluster_test.HEARTBEAT_MS),
                "--election-timeout", str(cluster_test.ELECTION_MS)] + self.extra_args
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)


def member_list(member):
    result = member.etcdctl("member", "list", "-w", "json", check=False, timeout=10)
    if result.returncode != 0:
        return None
    return json.loads(result.stdout).get("members", [])


def wait_for(predicate, timeout_s, what):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out waiting for " + what)


def named_members(member):
    """{name: member json} from `member list` on `member`, once every member has published itself (name
    and client URLs; initial members have their name from --initial-cluster before that)."""
    members = member_list(member)
    if not members or any(not m.get("name") or not m.get("clientURLs") for m in members):
        return None
    return {m["name"]: m for m in members}


def add_member(test, via, name, peer_port, *flags):
    """`etcdctl member add` on `via`; checks etcd's printout and returns (member id, initial cluster)."""
    out = via.etcdctl("member", "add", name, "--peer-urls=http://127.0.0.1:%d" % peer_port, *flags,
                      timeout=30).stdout
    test.assertRegex(out, r"Member +[0-9a-f]+ added to cluster +[0-9a-f]+")  # etcdctl pads ids: %16x
    test.assertIn('ETCD_NAME="%s"' % name, out)
    test.assertIn('ETCD_INITIAL_ADVERTISE_PEER_URLS="http://127.0.0.1:%d"' % peer_port, out)
    test.assertIn('ETCD_INITIAL_CLUSTER_STATE="existing"', out)
    member_id = int(re.search(r"Member +([0-9a-f]+) added", out).group(1), 16)
    initial = re.search(r'ETCD_INITIAL_CLUSTER="([^"]*)"', out).group(1)
    test.assertIn("%s=http://127.0.0.1:%d" % (name, peer_port), initial)
    return member_id, initial


def error_line(result):
    """etcdctl's "Error: ..." line (its exit code is 1 for every server error), or (0, "") on success."""
    lines = [l for l in result.stderr.splitlines() if l.startswith("Error:")]
    if result.returncode == 0:
        return (0, "")
    return (result.returncode, lines[-1] if lines else result.stderr.strip())


RECONFIG_UNHEALTHY = "Error: etcdserver: unhealthy cluster"


def wait_reconfig_ready(test, member, timeout_s=30):
    """Polls until `member` passes etcd's strict reconfiguration check of the connections (every voter
    heard from for 5 s; etcd refuses a change before that, e.g. just after start). A `member add` with a
    taken peer URL is refused after that check: "unhealthy cluster" until then, "Peer URLs already
    exists" after - it changes nothing either way."""
    def ready():
        line = error_line(member.etcdctl("member", "add", "probe", "--peer-urls=" + member.peer_url,
                                         check=False, timeout=30))[1]
        test.assertIn(line, (RECONFIG_UNHEALTHY, "Error: etcdserver: Peer URLs already exists"))
        return line != RECONFIG_UNHEALTHY
    wait_for(ready, timeout_s, "every voter connected for 5 s (" + member.name + ")")


def stream_errors(client_port):
    """(gRPC code, details) with which Watch, LeaseKeepAlive and Snapshot streams end at once, or None
    for a stream that answers (etcdctl retries refused streams for ever, so plain gRPC is used here)."""
    import grpc
    from etcd3 import etcdrpc
    channel = grpc.insecure_channel("127.0.0.1:%d" % client_port)
    calls = [
        lambda: etcdrpc.WatchStub(channel).Watch(
            iter([etcdrpc.WatchRequest(create_request=etcdrpc.WatchCreateRequest(key=b"k"))]), timeout=10),
        lambda: etcdrpc.LeaseStub(channel).LeaseKeepAlive(iter([etcdrpc.LeaseKeepAliveRequest(ID=1)]), timeout=10),
        lambda: etcdrpc.MaintenanceStub(channel).Snapshot(etcdrpc.SnapshotRequest(), timeout=10),
    ]
    outcomes = []
    for call in calls:
        try:
            next(iter(call()))
            outcomes.append(None)
        except grpc.RpcError as error:
            outcomes.append((error.code().value[0], error.details()))
    channel.close()
    return outcomes


def wait_exit(test, member, timeout_s=EXIT_TIMEOUT_S):
    """The member exits on its own after its removal, saying why; then it is no longer cleaned up."""
    deadline = time.time() + timeout_s
    while member.alive() and time.time() < deadline:
        time.sleep(0.1)
    test.assertFalse(member.alive(), "%s still runs after its removal" % member.name)
    test.assertIn("the member has been permanently removed from the cluster", member.log_text())
    test.assertEqual(member.proc.returncode, 0, member.log_text()[-3000:])  # a clean stop, not a crash
    member.kill()  # reaps it; cleanup then only removes its files


class MembershipTest(unittest.TestCase):
    def setUp(self):
        self.cluster = Cluster(3, extra_args=["--snapshot-count", str(SNAPSHOT_COUNT)]).start()
        self.addCleanup(self.cluster.cleanup)
        self.leader = self.cluster.agreed_leader()
        self.assertIsNotNone(self.leader, "no agreed leader")

    def join(self, name, initial, peer_port):
        joiner = Joiner(name, self.cluster.members[0].token, initial, peer_port,
                        ["--snapshot-count", str(SNAPSHOT_COUNT)])
        self.cluster.members.append(joiner)
        joiner.launch()
        return joiner

    def test_member_list_shows_every_member_everywhere(self):
        for m in self.cluster.members:
            members = wait_for(lambda: named_members(m), 10, "names in member list on " + m.name)
            self.assertEqual(sorted(members), ["n1", "n2", "n3"])
            for other in self.cluster.members:
                entry = members[other.name]
                self.assertEqual(entry["peerURLs"], [other.peer_url])
                self.assertEqual(entry["clientURLs"], ["http://127.0.0.1:%d" % other.client_port])
                self.assertEqual(entry["ID"], other.member_id())

    def test_add_join_by_snapshot_learner_promote_update_remove_under_writes(self):
        for i in range(4 * SNAPSHOT_COUNT):
            self.leader.etcdctl("put", "pre/%03d" % i, "v%d" % i)
        wait_reconfig_ready(self, self.leader)

        # 1. member add n4 (voter); the cluster lists it without a name until it starts.
        port4 = free_port()
        id4, initial = add_member(self, self.leader, "n4", port4)
        listed = {m["ID"]: m for m in member_list(self.cluster.members[1])}
        self.assertIn(id4, listed)
        self.assertEqual(listed[id4].get("name", ""), "")
        self.assertNotIn("clientURLs", listed[id4])
        n4 = self.join("n4", initial, port4)
        wait_for(lambda: named_members(n4) and "n4" in named_members(n4), 30, "n4 named in its member list")
        self.assertEqual(n4.member_id(), id4)
        self.assertIn("installed snapshot from the leader", n4.log_text(), "n4 did not catch up by snapshot")
        hashes = self.cluster.wait_converged()
        self.assertEqual(len(set(hashes.values())), 1, hashes)
        self.assertEqual(len(hashes), 4)
        # A restart with data keeps the ids it was given and ignores --initial-cluster.
        n4.stop()
        n4.initial_cluster = "n4=%s,elsewhere=http://127.0.0.1:1" % n4.peer_url
        n4.launch()
        wait_for(lambda: n4.status(), 20, "n4 answering after its restart")
        self.assertEqual(n4.member_id(), id4)
        self.assertEqual(n4.etcdctl("get", "pre/%03d" % (4 * SNAPSHOT_COUNT - 1), "--print-value-only").stdout.strip(),
                         "v%d" % (4 * SNAPSHOT_COUNT - 1))

        load = WriteLoad(self.cluster, writers=2).start()
        try:
            # 2. a learner joins and is promoted once in sync (etcd refuses before).
            wait_reconfig_ready(self, self.leader)  # n4 restarted: etcd waits until it is connected again
            port5 = free_port()
            id5, initial5 = add_member(self, self.leader, "n5", port5, "--learner")
            listed = {m["ID"]: m for m in member_list(self.leader)}
            self.assertTrue(listed[id5].get("isLearner"))
            n5 = self.join("n5", initial5, port5)
            wait_for(lambda: named_members(self.leader) and "n5" in named_members(self.leader), 30, "n5 published")

            def promote():
                leader = self.cluster.agreed_leader()
                result = leader.etcdctl("member", "promote", "%x" % id5, check=False, timeout=30)
                if result.returncode != 0:
                    self.assertIn("in sync with leader", result.stderr)
                return result.returncode == 0
            wait_for(promote, 30, "promotion of n5")
            listed = {m["ID"]: m for m in member_list(self.leader)}
            self.assertFalse(listed[id5].get("isLearner", False))

            # 3. member update: n5 moves to a new peer port and restarts there (its data keeps its ids).
            new_port5 = free_port()
            self.leader.etcdctl("member", "update", "%x" % id5, "--peer-urls=http://127.0.0.1:%d" % new_port5)
            listed = {m["ID"]: m for m in member_list(self.cluster.members[1])}
            self.assertEqual(listed[id5]["peerURLs"], ["http://127.0.0.1:%d" % new_port5])
            n5.stop()
            n5.peer_port = n5.listen_peer_port = new_port5
            n5.launch()

            # 4. remove a follower: it exits; then the leader: a new one is elected, the old one exits.
            leader = self.cluster.agreed_leader()
            wait_reconfig_ready(self, leader)  # n5 restarted on its new port
            follower = next(m for m in self.cluster.live() if m is not leader and m is not n5)
            leader.etcdctl("member", "remove", "%x" % follower.member_id(), timeout=30)
            wait_exit(self, follower)
            leader_id = leader.member_id()
            leader.etcdctl("member", "remove", "%x" % leader_id, timeout=30)
            wait_exit(self, leader)
            new_leader = self.cluster.agreed_leader()
            self.assertIsNotNone(new_leader)
            self.assertNotEqual(new_leader.member_id(), leader_id)
            time.sleep(1.0)  # the load goes on against the new leader
        finally:
            acknowledged = load.stop()
        self.assertGreater(len(acknowledged), 0)
        remaining = named_members(self.cluster.live()[0])
        self.assertEqual(len(remaining), 3, remaining)
        self.assertEqual(sorted(remaining), sorted(m.name for m in self.cluster.live()))
        assert_acknowledged_everywhere(self, self.cluster, acknowledged)
        hashes = self.cluster.wait_converged()
        self.assertEqual(len(hashes), 3)
        self.assertEqual(len(set(hashes.values())), 1, hashes)


    def test_learner_refuses_as_etcd_and_is_promoted_through_a_follower(self):
        """A learner serves only what etcd 3.4's does (Status, serializable Range; streams and every
        other call: Unavailable "etcdserver: rpc not supported for learner", recorded from etcd 3.4.23);
        `member promote` sent to a follower is decided by the leader, with etcd's errors."""
        leader = self.leader
        follower = next(m for m in self.cluster.members if m is not leader)
        leader.etcdctl("put", "k", "v")
        wait_reconfig_ready(self, leader)
        port = free_port()
        learner_id, initial = add_member(self, leader, "l4", port, "--learner")

        def promote_via_follower(member_id):
            return error_line(follower.etcdctl("member", "promote", "%x" % member_id, check=False, timeout=30))
        # Not started yet: its log matches nothing, so the leader refuses (asked through the follower).
        self.assertEqual(promote_via_follower(learner_id),
                         (1, "Error: etcdserver: can only promote a learner member which is in sync with leader"))
        self.assertEqual(promote_via_follower(follower.member_id()),
                         (1, "Error: etcdserver: can only promote a learner member"))
        self.assertEqual(promote_via_follower(0x1234), (1, "Error: etcdserver: member not found"))

        learner = self.join("l4", initial, port)
        wait_for(lambda: learner.etcdctl("get", "k", "--consistency=s", "--print-value-only",
                                         check=False).stdout.strip() == "v", 30, "the learner caught up")
        status = learner.status()
        self.assertTrue(status.get("isLearner"), status)
        refused = (1, "Error: etcdserver: rpc not supported for learner")
        for args in (["put", "x", "1"], ["get", "k"], ["del", "k"], ["member", "list"], ["compaction", "1"],
                     ["member", "promote", "%x" % learner_id]):
            self.assertEqual(error_line(learner.etcdctl(*args, check=False, timeout=30)), refused, args)
        self.assertEqual(stream_errors(learner.client_port),
                         [(14, "etcdserver: rpc not supported for learner")] * 3)

        wait_for(lambda: promote_via_follower(learner_id)[0] == 0, 30, "promotion through a follower")
        listed = {m["ID"]: m for m in member_list(leader)}
        self.assertFalse(listed[learner_id].get("isLearner", False))
        learner.etcdctl("put", "after", "promoted")  # a voter now: it serves writes and streams
        self.assertEqual(leader.etcdctl("get", "after", "--print-value-only").stdout.strip(), "promoted")
        self.assertEqual(stream_errors(learner.client_port), [None] * 3)

    def test_concurrent_changes_are_applied_one_at_a_time(self):
        """Two adds sent at once to two members: raft takes one conf change at a time, the other waits;
        each succeeds, or (one of them) is refused by the strict check as etcd refuses it; the added
        members are listed and their removals succeed (unstarted voters are safe to remove)."""
        wait_reconfig_ready(self, self.leader)
        ports = [free_port(), free_port()]
        env = dict(os.environ, ETCDCTL_API="3")
        procs = [subprocess.Popen(["etcdctl", "--endpoints", m.endpoint, "member", "add", "x%d" % i,
                                   "--peer-urls=http://127.0.0.1:%d" % port],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                 for i, (m, port) in enumerate(zip(self.cluster.members[:2], ports))]
        outs = [p.communicate(timeout=60) for p in procs]
        # An add whose strict reconfiguration check runs after the other add was applied sees that
        # add's voter, not started yet, and is refused with etcd 3.4's "unhealthy cluster" (etcd's
        # isConnectedFullySince counts every voter). Which order happens is timing: the same two adds
        # sent at once to real etcd 3.4.23 (3 members on loopback, 6 rounds) were both accepted in some
        # rounds and one was refused with "etcdserver: unhealthy cluster" in others. So: at least one
        # succeeds, a refusal is exactly that one, and any other failure, or both refused, fails.
        succeeded = 0
        for p, (out, err) in zip(procs, outs):
            if p.returncode != 0:
                self.assertIn("Error: etcdserver: unhealthy cluster", err, out + err)
            else:
                succeeded += 1
        self.assertGreaterEqual(succeeded, 1, outs)
        listed = member_list(self.cluster.members[2])
        self.assertEqual(len(listed), 3 + succeeded)
        added = [m["ID"] for m in listed if m["peerURLs"][0] in ["http://127.0.0.1:%d" % p for p in ports]]
        self.assertEqual(len(added), succeeded)
        for member_id in added:
            self.leader.etcdctl("member", "remove", "%x" % member_id, timeout=30)
        self.assertEqual(sorted(m["name"] for m in member_list(self.cluster.members[2])), ["n1", "n2", "n3"])
        self.leader.etcdctl("put", "after-changes", "ok")  # the 3 members still make a quorum


    def test_strict_reconfig_check_protects_the_quorum_on_every_endpoint(self):
        """etcd 3.4's --strict-reconfig-check (default on), connection part, from a follower's endpoint
        (only the leader hears every member; it is asked through the log): with one of three members
        down, adding a member or removing a live voter would leave no working quorum - "etcdserver:
        unhealthy cluster" (recorded from etcd 3.4.23) - while the member that is down can be removed."""
        wait_reconfig_ready(self, self.leader)
        leader = self.leader
        down, asked = [m for m in self.cluster.members if m is not leader]
        down_id = down.member_id()
        down.stop()

        def leader_noticed():  # the probe of wait_reconfig_ready, until it is refused
            return error_line(leader.etcdctl("member", "add", "probe", "--peer-urls=" + leader.peer_url,
                                             check=False, timeout=30))[1] == RECONFIG_UNHEALTHY
        wait_for(leader_noticed, 30, "the leader noticing that %s is down" % down.name)
        for via in (asked, leader):
            self.assertEqual(error_line(via.etcdctl("member", "add", "x", "--peer-urls=http://127.0.0.1:%d" % free_port(),
                                                    check=False, timeout=30)), (1, RECONFIG_UNHEALTHY), via.name)
            self.assertEqual(error_line(via.etcdctl("member", "remove", "%x" % leader.member_id(), check=False,
                                                    timeout=30)), (1, RECONFIG_UNHEALTHY), via.name)
        self.assertEqual(len(member_list(asked)), 3)
        asked.etcdctl("member", "remove", "%x" % down_id, timeout=30)
        self.assertEqual(sorted(m["name"] for m in member_list(asked)), sorted([leader.name, asked.name]))

    def test_joining_without_member_add_is_refused_clearly(self):
        port = free_port()
        initial = self.cluster.members[0].initial_cluster + ",stranger=http://127.0.0.1:%d" % port
        stranger = self.join("stranger", initial, port)
        deadline = time.time() + 30
        while stranger.alive() and time.time() < deadline:
            time.sleep(0.2)
        self.assertFalse(stranger.alive())
        self.assertNotEqual(stranger.proc.returncode, 0)
        self.assertIn("add it first with `etcdctl member add stranger", stranger.log_text())
        stranger.kill()
        self.assertEqual(len(member_list(self.leader)), 3)


class Alone(Member):
    """A member started as a single-member cluster: no --initial-cluster, etcd's localhost peer URL form
    (on a free port: parallel tests never share 2380)."""

    def launch(self):
        client_url = "http://127.0.0.1:%d" % self.port
        peer_url = "http://localhost:%d" % self.peer_port
        args = [cluster_test.ringkv_process.RINGKV, "--name", self.name, "--data-dir", self.data_dir,
                "--listen-client-urls", client_url, "--advertise-client-urls", client_url,
                "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
                "--heartbeat-interval", str(cluster_test.HEARTBEAT_MS),
                "--election-timeout", str(cluster_test.ELECTION_MS)] + self.extra_args
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)


class GrowFromOneTest(unittest.TestCase):
    def test_single_member_grows_and_both_survive_restarts_under_writes(self):
        """A member started alone does not listen for peers until `member add`; then the new member
        joins (ETCD_INITIAL_CLUSTER names the first by its localhost URL), catches up, and both
        restarting in turn under writes, then together, lose no acknowledged write."""
        cluster = Cluster(0)
        self.addCleanup(cluster.cleanup)
        n1 = Alone("n1", "unused", ["--snapshot-count", str(SNAPSHOT_COUNT)])
        cluster.members.append(n1)
        n1.launch()
        self.assertIs(cluster.agreed_leader(), n1)
        for i in range(2 * SNAPSHOT_COUNT):
            n1.etcdctl("put", "pre/%03d" % i, "v%d" % i)
        self.assertNotIn("peer transport started", n1.log_text())

        port2 = free_port()
        id2, initial = add_member(self, n1, "n2", port2)
        self.assertIn("n1=http://localhost:%d" % n1.peer_port, initial)
        n2 = Joiner("n2", "etcd-cluster", initial, port2, ["--snapshot-count", str(SNAPSHOT_COUNT)])
        cluster.members.append(n2)
        n2.launch()
        wait_for(lambda: named_members(n2) and sorted(named_members(n2)) == ["n1", "n2"], 30, "n2 named")
        self.assertEqual(n2.member_id(), id2)
        self.assertIn("peer transport started", n1.log_text())

        load = WriteLoad(cluster, writers=2).start()
        try:
            for member in (n1, n2):  # each restarts while the other waits for it (2 voters: no quorum alone)
                before = load.count()
                wait_for(lambda: load.count() > before + 10, 30, "writes acknowledged before restarting " + member.name)
                member.stop()
                member.launch()
                self.assertIsNotNone(cluster.agreed_leader(), "no leader after restarting " + member.name)
            before = load.count()
            wait_for(lambda: load.count() > before + 10, 30, "writes acknowledged after the restarts")
        finally:
            acknowledged = load.stop()
        for member in (n1, n2):  # and both down at once, then up again
            member.stop()
        for member in (n1, n2):
            member.launch()
        self.assertIsNotNone(cluster.agreed_leader(), "no leader after restarting both")
        pre = json.loads(n2.etcdctl("get", "pre/", "--prefix", "--keys-only", "-w", "json", timeout=30).stdout)
        self.assertEqual(pre.get("count"), 2 * SNAPSHOT_COUNT)
        assert_acknowledged_everywhere(self, cluster, acknowledged)
        hashes = cluster.wait_converged()
        self.assertEqual(len(hashes), 2)
        self.assertEqual(len(set(hashes.values())), 1, hashes)


class EtcdReference:
    """A single real etcd 3.4 member on free loopback ports (the behavioural reference)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="etcd-ref-")
        self.client = "http://127.0.0.1:%d" % free_port()
        self.peer = "http://127.0.0.1:%d" % free_port()
        self.log = open(os.path.join(self.dir, "log"), "wb")
        self.proc = subprocess.Popen(
            ["etcd", "--name", "ref", "--data-dir", os.path.join(self.dir, "data"),
             "--listen-client-urls", self.client, "--advertise-client-urls", self.client,
             "--listen-peer-urls", self.peer, "--initial-advertise-peer-urls", self.peer,
             "--initial-cluster", "ref=" + self.peer], stdout=self.log, stderr=subprocess.STDOUT)

    def etcdctl(self, *args):
        env = dict(os.environ, ETCDCTL_API="3")
        return subprocess.run(["etcdctl", "--endpoints", self.client] + list(args), capture_output=True,
                              text=True, env=env, timeout=20)

    def member_id(self):
        return json.loads(self.etcdctl("member", "list", "-w", "json").stdout)["members"][0]["ID"]

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@unittest.skipUnless(shutil.which("etcd"), "real etcd 3.4 not installed")
class MembershipErrorsTest(unittest.TestCase):
    def setUp(self):
        self.cluster = Cluster(3).start()
        self.addCleanup(self.cluster.cleanup)
        self.leader = self.cluster.agreed_leader()
        self.assertIsNotNone(self.leader)
        self.etcd = EtcdReference()
        self.addCleanup(self.etcd.close)
        wait_for(lambda: self.etcd.etcdctl("endpoint", "health").returncode == 0, 20, "etcd healthy")
        wait_reconfig_ready(self, self.leader)

    def both(self, *args, etcd_args=None):
        ours = error_line(self.leader.etcdctl(*args, check=False))
        theirs = error_line(self.etcd.etcdctl(*(etcd_args or args)))
        return ours, theirs

    def test_errors_match_etcd(self):
        ours, theirs = self.both("member", "remove", "1234")
        self.assertEqual(ours, theirs)
        self.assertEqual(ours[1], "Error: etcdserver: member not found")

        ours, theirs = self.both("member", "add", "dup", "--peer-urls=" + self.cluster.members[1].peer_url,
                                 etcd_args=["member", "add", "dup", "--peer-urls=" + self.etcd.peer])
        self.assertEqual(ours, theirs)
        self.assertEqual(ours[1], "Error: etcdserver: Peer URLs already exists")

        ours, theirs = self.both("member", "promote", "%x" % self.leader.member_id(),
                                 etcd_args=["member", "promote", "%x" % self.etcd.member_id()])
        self.assertEqual(ours, theirs)
        self.assertEqual(ours[1], "Error: etcdserver: can only promote a learner member")

        ours, theirs = self.both("member", "update", "1234", "--peer-urls=http://127.0.0.1:1")
        self.assertEqual(ours, theirs)
        self.assertEqual(ours[1], "Error: etcdserver: member not found")

        ours, theirs = self.both("member", "promote", "1234")
        self.assertEqual(ours, theirs)


if __name__ == "__main__":
    unittest.main(verbosity=2)
