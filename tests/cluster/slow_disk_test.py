"""tests/cluster/slow_disk_test.py - a leader whose disk is slow keeps leading (issue 7: "a slow fsync on
the leader does not cause an election").

Three real members (--heartbeat-interval 50, --election-timeout 500). One follower is restarted with
--experimental-wal-sync-delay 800ms: each of its WAL fdatasyncs then takes longer than an election
timeout to be acknowledged. Leadership is moved to it; while writers keep it busy for several seconds,
every member keeps naming it leader at the same raft term (its WAL writes run beside the raft loop, so
heartbeats go on), writes are acknowledged, and every acknowledged write is on every member afterwards.
Every process is stopped by PID (cluster_test.py's helpers).
"""
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_test import Cluster, WriteLoad, assert_acknowledged_everywhere  # noqa: E402

SYNC_DELAY_MS = 800          # longer than the election timeout (500 ms)
WATCH_S = 5.0                # how long leadership is watched under writes


class SlowLeaderDisk(unittest.TestCase):
    def test_slow_fdatasync_on_the_leader_causes_no_election(self):
        cluster = Cluster().start()
        try:
            leader = cluster.agreed_leader()
            self.assertIsNotNone(leader, "no agreed leader")
            slow = next(m for m in cluster.members if m is not leader)
            self.assertEqual(slow.stop(), 0)
            slow.extra_args = list(slow.extra_args) + ["--experimental-wal-sync-delay", "%dms" % SYNC_DELAY_MS]
            slow.launch()
            self.assertIsNotNone(cluster.agreed_leader(), "no agreed leader after the restart")

            slow_id = slow.status()["header"]["member_id"]
            endpoints = ",".join(m.endpoint for m in cluster.members)
            env = dict(os.environ, ETCDCTL_API="3")
            deadline = time.time() + 30
            while cluster.agreed_leader() is not slow and time.time() < deadline:
                subprocess.run(["etcdctl", "--endpoints", endpoints, "move-leader", "%x" % slow_id],
                               capture_output=True, text=True, env=env, timeout=30)
            self.assertIs(cluster.agreed_leader(), slow, "leadership did not move to the slow member")
            term = slow.status()["raftTerm"]
            started = time.time()
            slow.etcdctl("put", "slow/probe", "x", timeout=30)
            self.assertGreaterEqual(time.time() - started, SYNC_DELAY_MS / 1000.0,
                                    "the leader answered before its own (delayed) WAL write: no slow disk")

            load = WriteLoad(cluster, writers=3, timeout_s=10).start()
            changes = []
            until = time.time() + WATCH_S
            while time.time() < until:
                for m in cluster.members:
                    status = m.status()
                    if status is None:
                        continue
                    if status.get("leader") != slow_id or status["raftTerm"] != term:
                        changes.append((m.name, status.get("leader"), status["raftTerm"]))
                time.sleep(0.2)
            acknowledged = load.stop()

            self.assertEqual(changes, [], "leader or term changed while the leader's disk was slow")
            self.assertGreater(len(acknowledged), 0, "no write was acknowledged")
            self.assertGreaterEqual(slow.status()["raftTerm"], term)
            assert_acknowledged_everywhere(self, cluster, acknowledged)
        finally:
            cluster.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
