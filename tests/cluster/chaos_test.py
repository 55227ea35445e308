"""tests/cluster/chaos_test.py (suite cluster, tagged slow) - five real `ringkv` processes behind peer
proxies, under a continuous write load, go through seeded random rounds of faults: kill -9 (then a
restart from the WAL), SIGSTOP/SIGCONT, the leader isolated, a follower isolated, a 2|3 split. After
each round the faults are undone and a leader must be agreed again; at the end every member holds every
acknowledged write and HashKV is equal on all five. Snapshots every 2000 entries, so members coming back
often catch up by InstallSnapshot.

A failing run prints its seed; replay it with RINGKV_CHAOS_SEED=<seed> (and RINGKV_CHAOS_ROUNDS=<n>).
Helpers (processes stopped by PID, temp dirs removed) are cluster_test.py's; the proxies are stopped too.
"""
import os
import random
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_test import Cluster, WriteLoad, assert_acknowledged_everywhere  # noqa: E402
from peer_proxy import PeerProxies  # noqa: E402

ROUNDS = int(os.environ.get("RINGKV_CHAOS_ROUNDS", "8"))
FAULT_S = (1.0, 3.0)  # how long a fault lasts
AGREE_TIMEOUT_S = 30
SNAPSHOT_ENTRIES = 2000


class Chaos(unittest.TestCase):
    def test_random_faults_under_writes_lose_no_acknowledged_write(self):
        seed = int(os.environ.get("RINGKV_CHAOS_SEED", str(random.randrange(1 << 30))))
        rng = random.Random(seed)
        print("chaos seed %d (replay: RINGKV_CHAOS_SEED=%d RINGKV_CHAOS_ROUNDS=%d)" % (seed, seed, ROUNDS))
        proxies = PeerProxies()
        # Frequent snapshots: a member back from a fault often catches up by InstallSnapshot.
        cluster = Cluster(size=5, extra_args=["--snapshot-count", str(SNAPSHOT_ENTRIES)], proxies=proxies)
        frozen = []
        load = None
        try:
            cluster.start()
            self.assertIsNotNone(cluster.agreed_leader(), "no agreed leader")
            ids = {m.name: m.member_id() for m in cluster.members}
            load = WriteLoad(cluster, writers=4).start()
            for round_number in range(ROUNDS):
                leader = cluster.agreed_leader(AGREE_TIMEOUT_S)
                self.assertIsNotNone(leader, "seed %d round %d: no agreed leader" % (seed, round_number))
                before = load.count()
                fault = rng.choice(["kill", "stop", "isolate-leader", "isolate-follower", "split"])
                victim = leader if rng.random() < 0.5 or fault == "isolate-leader" else \
                    rng.choice([m for m in cluster.members if m is not leader])
                if fault == "kill":
                    victim.kill()
                elif fault == "stop":
                    victim.proc.send_signal(signal.SIGSTOP)
                    frozen.append(victim)
                elif fault in ("isolate-leader", "isolate-follower"):
                    proxies.isolate(ids[victim.name], ids.values())
                else:
                    names = list(ids)
                    rng.shuffle(names)
                    proxies.partition([ids[n] for n in names[:2]], [ids[n] for n in names[2:]])
                duration = rng.uniform(*FAULT_S)
                time.sleep(duration)
                if fault == "kill":
                    victim.launch()
                for m in frozen:
                    m.proc.send_signal(signal.SIGCONT)
                frozen.clear()
                proxies.heal()
                agreed = cluster.agreed_leader(AGREE_TIMEOUT_S)
                self.assertIsNotNone(agreed, "seed %d round %d (%s of %s): no agreed leader after recovery"
                                     % (seed, round_number, fault, victim.name))
                deadline = time.time() + AGREE_TIMEOUT_S
                while load.count() == before and time.time() < deadline:
                    time.sleep(0.1)
                self.assertGreater(load.count(), before, "seed %d round %d: no write acknowledged" % (seed, round_number))
                print("round %d: %s of %s for %.1f s; %d writes acknowledged so far"
                      % (round_number, fault, victim.name, duration, load.count()))
            acknowledged = load.stop()
            load = None
            hashes = cluster.wait_converged(60)
            self.assertEqual(len(hashes), 5, hashes)
            self.assertEqual(len(set(hashes.values())), 1, "seed %d: %s" % (seed, hashes))
            assert_acknowledged_everywhere(self, cluster, acknowledged)
            installs = sum(m.log_text().count("installed snapshot from the leader") for m in cluster.members)
            print("seed %d: %d acknowledged writes on all 5 members, equal HashKV; %d snapshots installed"
                  % (seed, len(acknowledged), installs))
        finally:
            for m in frozen:
                if m.alive():
                    m.proc.send_signal(signal.SIGCONT)
            if load is not None:
                load.stop()
            try:
                cluster.cleanup()
            finally:
                proxies.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
