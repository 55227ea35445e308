"""tests/cluster/forged_peer_test.py - forged raft frames sent to real `ringkv` members' peer ports.

Anyone who can reach a peer port can send well-formed frames in a member's name (without peer TLS
nothing proves who sent them). What a user relies on, against three real processes:
- a heartbeat or vote request carrying term 2^64-1 (or any term far ahead of the cluster's) is dropped:
  the cluster keeps one agreed leader in a small term, serves writes, and still does after every member
  restarts from its WAL (before the fix, the forged term was adopted, persisted, and no leader could be
  elected again);
- an acknowledgement in a follower's name of entries the leader never wrote changes nothing;
- the members stay up throughout.
The forger is forge_peer_frame (the second argument); processes and data dirs are cluster_test.py's
(stopped by PID, removed).
"""
import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_test import Cluster  # noqa: E402

# ringkv_process took the binary (argv[1]) on import; the forger comes next.
FORGER = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 and os.path.isfile(sys.argv[1]) else None
TERM_MAX = 2**64 - 1
SANE_TERM_LIMIT = 2**32  # raft/types.h kTermAdvanceMax: no real election gets near it


def forge(port, cluster_id, sender, receiver, kind, term, index=0):
    result = subprocess.run([FORGER, str(port), str(cluster_id), str(sender), str(receiver), kind, str(term),
                             str(index)], capture_output=True, text=True, timeout=10)
    assert result.returncode == 0, result.stderr


class ForgedPeerFrames(unittest.TestCase):
    def setUp(self):
        self.assertIsNotNone(FORGER, "usage: forged_peer_test.py RINGKV FORGE_PEER_FRAME")
        self.cluster = Cluster().start()
        self.addCleanup(self.cluster.cleanup)

    def assert_serving_in_a_small_term(self, key):
        leader = self.cluster.agreed_leader()
        self.assertIsNotNone(leader, "no agreed leader")
        follower = next(m for m in self.cluster.members if m is not leader)
        follower.etcdctl("put", key, "ok")
        for m in self.cluster.members:
            self.assertTrue(m.alive(), m.log_text()[-3000:])
            self.assertEqual(m.etcdctl("get", key, "--print-value-only").stdout.strip(), "ok")
            self.assertLess(m.status()["raftTerm"], SANE_TERM_LIMIT)
        return leader

    def test_a_term_far_ahead_is_dropped_and_the_cluster_keeps_its_leader(self):
        leader = self.assert_serving_in_a_small_term("before")
        listing = json.loads(leader.etcdctl("member", "list", "-w", "json").stdout)
        cluster_id = listing["header"]["cluster_id"]
        leader_id = leader.member_id()
        followers = [m for m in self.cluster.members if m is not leader]
        for follower in followers:
            follower_id = follower.member_id()
            forge(follower.peer_port, cluster_id, leader_id, follower_id, "heartbeat", TERM_MAX)
            forge(follower.peer_port, cluster_id, leader_id, follower_id, "heartbeat", TERM_MAX - 1)
            forge(leader.peer_port, cluster_id, follower_id, leader_id, "vote", TERM_MAX, 2**40)
            # An acknowledgement of entries the leader never wrote, in this follower's name.
            forge(leader.peer_port, cluster_id, follower_id, leader_id, "append_response",
                  leader.status()["raftTerm"], 2**40)
        time.sleep(1.0)  # several heartbeat rounds: a forged term would have spread by now
        self.assert_serving_in_a_small_term("after")

        for m in self.cluster.members:  # nothing forged was persisted either
            m.stop()
        for m in self.cluster.members:
            m.launch()
        self.assert_serving_in_a_small_term("after-restart")


if __name__ == "__main__":
    unittest.main(verbosity=2)
