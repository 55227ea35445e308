"""tests/cluster/sigstop_test.py - three real `ringkv` processes; the leader is frozen with SIGSTOP for
longer than the election timeout, then resumed with SIGCONT.

What a user relies on:
- the two others elect a new leader and serve writes while the old one is frozen;
- once resumed, the old leader steps down: its own Status and `endpoint status` name the new leader;
- no write is lost or acknowledged from the old term: writes sent to the frozen leader (some still
  queued in its socket when it resumes) are either refused/timed out, or acknowledged with a header
  from the new term and then present on every member. Every write any client saw acknowledged is on
  all three members after the cluster converges (equal HashKV).
Helpers (processes stopped by PID, temp dirs removed) are cluster_test.py's.
"""
import os
import signal
import sys
import threading
import time
import unittest

import etcd3

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_test import ELECTION_MS, Cluster, WriteLoad, assert_acknowledged_everywhere  # noqa: E402

FROZEN_S = 3 * ELECTION_MS / 1000  # well past the election timeout
OLD_LEADER_CLIENT_TIMEOUT_S = 10   # its requests outlive the freeze: they reach it after SIGCONT


class FrozenLeader(unittest.TestCase):
    def test_sigstop_leader_steps_down_and_acknowledges_nothing_from_its_old_term(self):
        cluster = Cluster().start()
        old_leader = None
        try:
            old_leader = cluster.agreed_leader()
            self.assertIsNotNone(old_leader, "no agreed leader")
            old_term = old_leader.status()["raftTerm"]
            load = WriteLoad(cluster).start()
            time.sleep(0.5)

            # Writers aimed only at the old leader, with a timeout longer than the freeze.
            to_old = {}  # key -> (value, header raft_term, time) of acknowledged writes
            to_old_lock = threading.Lock()
            stop_old = threading.Event()

            def write_to_old_leader(worker):
                client = etcd3.client(host="127.0.0.1", port=old_leader.client_port,
                                      timeout=OLD_LEADER_CLIENT_TIMEOUT_S)
                i = 0
                while not stop_old.is_set():
                    key, value = "load/old/%d/%d" % (worker, i), "o%d" % i
                    i += 1
                    try:
                        response = client.put(key, value)
                    except Exception:
                        continue  # not acknowledged
                    with to_old_lock:
                        to_old[key] = (value, response.header.raft_term, time.time())

            old_writers = [threading.Thread(target=write_to_old_leader, args=(w,)) for w in range(4)]
            for t in old_writers:
                t.start()
            time.sleep(0.3)

            old_leader.proc.send_signal(signal.SIGSTOP)
            stopped_at = time.time()
            try:
                survivors = [m for m in cluster.members if m is not old_leader]
                new_leader = None
                while new_leader is None and time.time() < stopped_at + FROZEN_S + 5:
                    for m in survivors:
                        if m.is_leader():
                            new_leader = m
                            break
                    time.sleep(0.05)
                self.assertIsNotNone(new_leader, "the others elected no leader while the leader was frozen")
                new_leader.etcdctl("put", "during-freeze", "ok")  # the majority serves writes
                elected_s = time.time() - stopped_at
                time.sleep(max(0.0, FROZEN_S - elected_s))
            finally:
                old_leader.proc.send_signal(signal.SIGCONT)
            resumed_at = time.time()
            print("frozen %.2f s; a new leader served a write %.2f s after SIGSTOP" % (resumed_at - stopped_at,
                                                                                        elected_s))

            # The old leader steps down: it names another member as leader, in a newer term.
            stepped_down = None
            while time.time() < resumed_at + 10:
                status = old_leader.status()
                if status and status.get("leader", 0) not in (0, status["header"]["member_id"]):
                    stepped_down = status
                    break
                time.sleep(0.05)
            self.assertIsNotNone(stepped_down, "the resumed old leader did not step down")
            self.assertGreater(stepped_down["raftTerm"], old_term)
            self.assertIsNotNone(cluster.agreed_leader())
            self.assertFalse(old_leader.is_leader())

            time.sleep(1.0)  # both loads go on after the resume
            stop_old.set()
            for t in old_writers:
                t.join()
            acknowledged = load.stop()
            with to_old_lock:
                old_acks = dict(to_old)

            hashes = cluster.wait_converged()
            self.assertEqual(len(hashes), 3, hashes)
            self.assertEqual(len(set(hashes.values())), 1, hashes)
            # An acknowledgement that reached the client after SIGCONT with a header from the old term can
            # only be legitimate for an entry committed by a quorum before the freeze (its reply was still
            # in the frozen process): it must be in the final state, like every other acknowledged write.
            from_old_term = {k: v for k, (v, term, at) in old_acks.items() if at > resumed_at and term <= old_term}
            acknowledged.update({k: v for k, (v, term, at) in old_acks.items()})
            assert_acknowledged_everywhere(self, cluster, acknowledged)
            assert_acknowledged_everywhere(self, cluster, from_old_term)
            for m in cluster.members:
                self.assertEqual(m.etcdctl("get", "during-freeze", "--print-value-only").stdout.strip(), "ok")
            after = [term for _, term, at in old_acks.values() if at > resumed_at]
            print("acknowledged: %d in all; by the old leader %d before SIGSTOP, %d after SIGCONT (terms %s; "
                  "old term %d; %d old-term replies delivered late, all committed)"
                  % (len(acknowledged), len(old_acks) - len(after), len(after), sorted(set(after)), old_term,
                     len(from_old_term)))
        finally:
            if old_leader is not None and old_leader.alive():
                old_leader.proc.send_signal(signal.SIGCONT)  # never leave it frozen for cleanup
            cluster.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
