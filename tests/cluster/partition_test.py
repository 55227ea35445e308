"""tests/cluster/partition_test.py - three real `ringkv` processes whose peer traffic goes through
userspace proxies (peer_proxy.py); the proxies blackhole every pair between the leader and the others.

What a user relies on:
- the isolated old leader (the minority) acknowledges nothing: linearizable reads and writes sent to
  it fail or time out, while serializable reads still answer from its local state;
- the majority elects a new leader and serves writes and linearizable reads;
- after healing, the old leader follows the new one and every member converges (equal HashKV, every
  acknowledged write present everywhere). A write that timed out on the minority was not acknowledged,
  so, as with etcd, it may or may not appear later; every member agrees either way (HashKV).
Helpers (processes stopped by PID, temp dirs removed) are cluster_test.py's; the proxies are stopped too.
"""
import os
import sys
import time
import unittest

import etcd3

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_test import ELECTION_MS, Cluster, WriteLoad, assert_acknowledged_everywhere  # noqa: E402
from peer_proxy import PeerProxies  # noqa: E402

MINORITY_CLIENT_TIMEOUT_S = 3


class PartitionedLeader(unittest.TestCase):
    def test_isolated_leader_serves_nothing_majority_goes_on_and_all_converge_after_healing(self):
        proxies = PeerProxies()
        cluster = Cluster(proxies=proxies)
        try:
            cluster.start()
            old_leader = cluster.agreed_leader()
            self.assertIsNotNone(old_leader, "no agreed leader through the proxies")
            ids = {m.name: m.member_id() for m in cluster.members}
            old_leader.etcdctl("put", "before", "b")
            load = WriteLoad(cluster).start()
            time.sleep(0.5)

            proxies.isolate(ids[old_leader.name], ids.values())
            isolated_at = time.time()
            majority = [m for m in cluster.members if m is not old_leader]

            # The majority elects a leader among themselves and serves writes.
            new_leader = None
            while new_leader is None and time.time() < isolated_at + 10:
                new_leader = next((m for m in majority if m.is_leader()), None)
                time.sleep(0.05)
            self.assertIsNotNone(new_leader, "the majority elected no leader")
            new_leader.etcdctl("put", "majority", "m1")
            print("majority leader serving %.2f s after the partition" % (time.time() - isolated_at))
            for m in majority:
                self.assertEqual(m.etcdctl("get", "majority", "--print-value-only").stdout.strip(), "m1")

            # The minority: writes and linearizable reads are not acknowledged; serializable reads answer.
            minority = etcd3.client(host="127.0.0.1", port=old_leader.client_port, timeout=MINORITY_CLIENT_TIMEOUT_S)
            with self.assertRaises(Exception, msg="the isolated old leader acknowledged a write"):
                minority.put("minority", "must-not-commit")
            with self.assertRaises(Exception, msg="the isolated old leader served a linearizable read"):
                minority.get("majority")
            serializable = old_leader.etcdctl("get", "before", "--consistency=s", "--print-value-only")
            self.assertEqual(serializable.stdout.strip(), "b")
            # CheckQuorum: within an election timeout or so it no longer claims to lead.
            deadline = time.time() + 5
            while old_leader.is_leader() and time.time() < deadline:
                time.sleep(0.05)
            self.assertFalse(old_leader.is_leader(), "the isolated leader still claims leadership")

            partitioned_s = time.time() - isolated_at
            proxies.heal()
            healed_at = time.time()
            leader = cluster.agreed_leader()
            self.assertIsNotNone(leader, "no agreed leader after healing")
            self.assertIn(leader, majority)  # PreVote: the isolated member cannot disrupt the new term
            time.sleep(0.5)
            acknowledged = load.stop()
            print("partitioned %.2f s; agreed again %.2f s after healing" % (partitioned_s, time.time() - healed_at))

            hashes = cluster.wait_converged()
            self.assertEqual(len(hashes), 3, hashes)
            self.assertEqual(len(set(hashes.values())), 1, hashes)
            assert_acknowledged_everywhere(self, cluster, acknowledged)
            for m in cluster.members:
                self.assertEqual(m.etcdctl("get", "majority", "--print-value-only").stdout.strip(), "m1")
            print("acknowledged writes: %d, present on all 3 members" % len(acknowledged))
        finally:
            try:
                cluster.cleanup()
            finally:
                proxies.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
