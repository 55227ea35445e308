"""tests/server/descriptor_limit_test.py - running out of descriptors never stops a member (issue 14).

The real binary under a descriptor limit of 128 (soft and hard, set with prlimit so it cannot raise it):
its client connection cap is the limit less the member's reserve (server/frontend/connection_cap.h: 64
here). A client connected first keeps writing while an attacker opens 300 idle connections: the
connections past the cap are closed at once, the member stays up, every put is acknowledged, the log
says "connection limit reached", and after a restart every acknowledged put is there.
Usage: descriptor_limit_test.py path/to/ringkv
"""
import errno
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ringkv_process import RINGKV, RingkvServer, log_entries  # noqa: E402

import etcd3  # noqa: E402  (Debian's python3-etcd3)

DESCRIPTOR_LIMIT = 128
EXPECTED_CAP = 64  # DESCRIPTOR_LIMIT - min(256, DESCRIPTOR_LIMIT / 2)
ATTACK_CONNECTIONS = 300
PUTS = 2000


class LimitedRingkv(RingkvServer):
    def command(self, url):
        return ["prlimit", "--nofile=%d:%d" % (DESCRIPTOR_LIMIT, DESCRIPTOR_LIMIT), "--"] + super().command(url)


def closed_by_server(sock):
    """True when the server closed (or reset) this connection; False while it is open and silent."""
    try:
        return sock.recv(1, socket.MSG_DONTWAIT) == b""
    except (BlockingIOError, TimeoutError):
        return False
    except ConnectionResetError:
        return True


class DescriptorLimit(unittest.TestCase):
    def setUp(self):
        self.server = LimitedRingkv(["--shards", "1"]).start()
        self.attack = []

    def tearDown(self):
        for s in self.attack:
            s.close()
        self.server.cleanup()

    def log_lines(self, msg):
        return log_entries(self.server.log_text(), msg)

    def test_connections_past_the_cap_are_closed_and_writes_go_on(self):
        cap = self.log_lines("client connection cap")
        self.assertEqual(cap[-1]["max-client-connections"], EXPECTED_CAP, cap)
        client = etcd3.client(host="127.0.0.1", port=self.server.port)
        client.put("/before", "attack")  # this client's connection is open before the attack
        for _ in range(ATTACK_CONNECTIONS):
            s = socket.create_connection(("127.0.0.1", self.server.port), timeout=5)
            s.setblocking(False)
            self.attack.append(s)
        # The server closes what it cannot serve at once (well before its preface timeout).
        deadline = time.time() + 5
        while time.time() < deadline:
            closed = sum(closed_by_server(s) for s in self.attack)
            if closed >= ATTACK_CONNECTIONS - EXPECTED_CAP:
                break
            time.sleep(0.05)
        self.assertGreaterEqual(closed, ATTACK_CONNECTIONS - EXPECTED_CAP)
        self.assertLess(closed, ATTACK_CONNECTIONS)  # the ones within the cap are served (idle for now)
        # The member keeps writing through the connection it already had.
        for i in range(PUTS):
            client.put("/k/%05d" % i, "v" * 200)
        self.assertIsNone(self.server.proc.poll(), "the member exited:\n" + self.server.log_text())
        self.assertTrue(self.log_lines("connection limit reached; closing new connections"))
        self.assertFalse(self.log_lines("WAL stopped; no further writes will be acknowledged"))
        client.close()
        for s in self.attack:
            s.close()
        self.attack = []
        # Every acknowledged put survives a restart.
        self.server.restart()
        client = etcd3.client(host="127.0.0.1", port=self.server.port)
        count = client.get_prefix_response("/k/", keys_only=True).count
        client.close()
        self.assertEqual(count, PUTS)


if __name__ == "__main__":
    unittest.main()
