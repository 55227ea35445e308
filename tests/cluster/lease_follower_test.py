"""tests/cluster/lease_follower_test.py - leases kept alive and queried through members that are not the
leader, on three real `ringkv` processes. Only the leader keeps lease expiry (etcd's primary lessor);
other members ask it through the raft log (lease_ask / lease_answer entries, server/raft_payload.h).

What a user relies on:
- `etcdctl lease keep-alive` against a follower keeps a 2 s lease (and its key) alive for 6 s, and
  `lease timetolive` on a follower reports the leader's remaining TTL; once keepalives stop, the lease
  expires and its key is deleted on every member;
- a keepalive for a revoked lease answers TTL 0 and TimeToLive answers -1 (python3-etcd3, on a
  follower): a keepalive never revives a lease the leader gave up;
- after kill -9 of the leader, the new leader extends every lease's remaining TTL (etcd's promote):
  a lease nobody keeps alive outlives its TTL by the failover, and keepalives through a surviving
  follower keep their lease alive across the failover.
Helpers (processes stopped by PID, temp dirs removed) are cluster_test.py's.
"""
import os
import re
import signal
import subprocess
import sys
import time
import unittest

import etcd3

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_test import Cluster  # noqa: E402

TTL_S = 2
KEPT_ALIVE_S = 6
# After the last keepalive: the TTL, the leader's 500 ms housekeeping round, the revoke's commit.
EXPIRY_SLACK_S = 3


def grant(member, ttl_s):
    out = member.etcdctl("lease", "grant", str(ttl_s)).stdout
    return re.search(r"lease ([0-9a-f]+) granted", out).group(1)


def time_to_live(member, lease_hex):
    """(remaining TTL, keys) as `etcdctl lease timetolive --keys` on `member` reports them; TTL -1 if gone."""
    out = member.etcdctl("lease", "timetolive", lease_hex, "--keys").stdout
    if "already expired" in out:
        return -1, []
    match = re.search(r"remaining\((-?\d+)s\)", out)
    keys = re.search(r"attached keys\(\[(.*)\]\)", out)
    return int(match.group(1)), (keys.group(1).split() if keys else [])


def key_on_all(cluster, key):
    return [m.etcdctl("get", key, "--print-value-only").stdout.strip() for m in cluster.live()]


class KeepAlive:
    """`etcdctl lease keep-alive` against one member, stopped by PID."""

    def __init__(self, member, lease_hex):
        env = dict(os.environ, ETCDCTL_API="3")
        self.proc = subprocess.Popen(["etcdctl", "--endpoints", member.endpoint, "lease", "keep-alive", lease_hex],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)

    def stop(self):
        """Stops it (SIGTERM by PID) and returns its output."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            out, _ = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        return out


class LeasesOnFollowers(unittest.TestCase):
    def test_keep_alive_and_time_to_live_through_a_follower(self):
        cluster = Cluster().start()
        keep_alive = None
        try:
            leader = cluster.agreed_leader()
            self.assertIsNotNone(leader, "no agreed leader")
            follower = next(m for m in cluster.members if m is not leader)
            lease = grant(follower, TTL_S)
            follower.etcdctl("put", "leased", "alive", "--lease", lease)

            keep_alive = KeepAlive(follower, lease)
            started = time.time()
            ttls = []
            while time.time() < started + KEPT_ALIVE_S:
                self.assertIsNone(keep_alive.proc.poll(), "keep-alive exited early")
                self.assertEqual(key_on_all(cluster, "leased"), ["alive"] * 3)
                ttl, keys = time_to_live(follower, lease)
                ttls.append(ttl)
                self.assertEqual(keys, ["leased"])
                self.assertTrue(0 <= ttl <= TTL_S, ttl)  # the leader's remaining TTL, not "forever"
                time.sleep(0.3)
            output = keep_alive.stop()
            keep_alive = None
            stopped = time.time()
            renewals = re.findall(r"keepalived with TTL\((\d+)\)", output)
            self.assertGreaterEqual(len(renewals), 4, output)  # etcdctl renews every TTL/3
            self.assertEqual(set(renewals), {str(TTL_S)}, output)
            print("kept alive %.1f s through a follower: %d renewals, follower TimeToLive saw %s"
                  % (stopped - started, len(renewals), sorted(set(ttls))))

            # Keepalives stopped: the lease expires and its key goes, on every member.
            while time.time() < stopped + TTL_S + EXPIRY_SLACK_S and key_on_all(cluster, "leased") != [""] * 3:
                time.sleep(0.1)
            expired_s = time.time() - stopped
            self.assertEqual(key_on_all(cluster, "leased"), [""] * 3, "the lease did not expire")
            self.assertGreaterEqual(expired_s, TTL_S - 1)
            self.assertEqual(time_to_live(follower, lease), (-1, []))
            print("expired %.2f s after the last keepalive stopped" % expired_s)

            # A revoked lease is not revived through a follower (python3-etcd3 against each follower).
            other = etcd3.client(host="127.0.0.1", port=follower.client_port, timeout=10)
            revoked = other.lease(TTL_S)
            other.revoke_lease(revoked.id)
            for m in cluster.members:
                client = etcd3.client(host="127.0.0.1", port=m.client_port, timeout=10)
                self.assertEqual([r.TTL for r in client.refresh_lease(revoked.id)], [0], m.name)
                self.assertEqual(client.get_lease_info(revoked.id).TTL, -1, m.name)
            # And one that lives answers on every member with its granted TTL.
            live = other.lease(TTL_S)
            for m in cluster.members:
                client = etcd3.client(host="127.0.0.1", port=m.client_port, timeout=10)
                self.assertEqual([r.TTL for r in client.refresh_lease(live.id)], [TTL_S], m.name)
                info = client.get_lease_info(live.id)
                self.assertEqual(info.grantedTTL, TTL_S, m.name)
                self.assertTrue(0 <= info.TTL <= TTL_S, (m.name, info.TTL))
        finally:
            if keep_alive is not None:
                keep_alive.stop()
            cluster.cleanup()

    def test_new_leader_extends_leases_and_follower_keepalives_survive_failover(self):
        cluster = Cluster().start()
        keep_alive = None
        try:
            leader = cluster.agreed_leader()
            self.assertIsNotNone(leader, "no agreed leader")
            survivors = [m for m in cluster.members if m is not leader]
            kept = grant(leader, TTL_S)
            unkept = grant(leader, TTL_S)
            granted = time.time()
            leader.etcdctl("put", "kept", "k", "--lease", kept)
            leader.etcdctl("put", "unkept", "u", "--lease", unkept)
            keep_alive = KeepAlive(survivors[0], kept)
            time.sleep(0.2)
            leader.kill()
            killed = time.time()
            self.assertIsNotNone(cluster.agreed_leader(), "no new leader")
            # etcd's promote: expiry = election + election timeout + the full TTL, so the unkept lease
            # outlives its granted TTL counted from the grant.
            while time.time() < granted + TTL_S + 0.3:
                time.sleep(0.05)
            unkept_value = survivors[1].etcdctl("get", "unkept", "--print-value-only").stdout.strip()
            self.assertEqual(unkept_value, "u", "the new leader did not extend the lease")
            while time.time() < killed + TTL_S + 3 * EXPIRY_SLACK_S and key_on_all(cluster, "unkept") != [""] * 2:
                time.sleep(0.1)
            self.assertEqual(key_on_all(cluster, "unkept"), [""] * 2, "the unkept lease never expired")
            print("unkept %d s lease expired %.2f s after the grant (leader killed %.2f s after it)"
                  % (TTL_S, time.time() - granted, killed - granted))

            self.assertIsNone(keep_alive.proc.poll(), "keep-alive gave up during the failover")
            self.assertGreater(time.time() - killed, TTL_S + 1)
            self.assertEqual(key_on_all(cluster, "kept"), ["k"] * 2, "the kept-alive lease expired")
            keep_alive.stop()
            keep_alive = None
        finally:
            if keep_alive is not None:
                keep_alive.stop()
            cluster.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
