"""tests/cluster/five_member_test.py - five real `ringkv` processes: kill -9 of the leader during a write
load. A new leader (elected by 3 of the 4 survivors' votes) acknowledges a write within 2 election
timeouts; after the old leader restarts from its WAL, every acknowledged write is on all 5 members and
their HashKV is equal. Helpers (processes stopped by PID, temp dirs removed) are cluster_test.py's.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_test import Cluster, kill_leader_under_writes  # noqa: E402


class FiveMemberCluster(unittest.TestCase):
    def test_leader_kill_9_under_writes_loses_no_acknowledged_write(self):
        cluster = Cluster(size=5).start()
        try:
            kill_leader_under_writes(self, cluster)
        finally:
            cluster.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
