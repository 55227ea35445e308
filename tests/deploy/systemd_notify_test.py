"""tests/deploy/systemd_notify_test.py - the real ringkv binary under a fake systemd: a datagram socket named
by NOTIFY_SOCKET (a path, and the abstract namespace's "@name"), as systemd hands a Type=notify service.

What a systemd unit relies on:
- READY=1 arrives once the member serves (a write succeeds right after it), sent by ringkv's own PID
  (checked through SCM_CREDENTIALS, as systemd's NotifyAccess=main does);
- a member of a 3-member cluster started alone sends no READY=1 (no quorum: it cannot serve); it does
  once a second member starts, and so does the second;
- WATCHDOG=1 every WATCHDOG_USEC/2 while it runs, none when WATCHDOG_PID names another process;
- STOPPING=1 on SIGTERM, before a clean exit 0;
- an unusable NOTIFY_SOCKET is a warning, not a failure.
Every process is stopped by PID; data dirs and sockets are removed.
"""
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))
from ringkv_process import RINGKV, free_port  # noqa: E402

READY_TIMEOUT_S = 20
STOP_TIMEOUT_S = 15


class FakeSystemd:
    """The receiving end of NOTIFY_SOCKET: every datagram with the sender's PID."""

    def __init__(self, abstract):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.dir = None
        if abstract:
            name = "ringkv-test-notify-%d-%d" % (os.getpid(), free_port())
            self.sock.bind("\0" + name)
            self.env_value = "@" + name
        else:
            self.dir = tempfile.mkdtemp(prefix="ringkv-notify-", dir="/tmp")
            path = os.path.join(self.dir, "notify")
            self.sock.bind(path)
            self.env_value = path
        self.messages = []  # (seconds since creation, text, sender pid)
        self.created = time.monotonic()

    def receive(self, timeout_s):
        """Reads datagrams for up to timeout_s; returns the ones that arrived."""
        arrived = []
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return arrived
            self.sock.settimeout(left)
            try:
                data, ancillary, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
            except socket.timeout:
                return arrived
            pid = None
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("iII", payload[:12])[0]
            message = (time.monotonic() - self.created, data.decode(), pid)
            self.messages.append(message)
            arrived.append(message)

    def wait_for(self, text, timeout_s):
        """The first message containing the line `text` within timeout_s, or None."""
        deadline = time.monotonic() + timeout_s
        for message in self.messages:
            if text in message[1].split("\n"):
                return message
        while time.monotonic() < deadline:
            for message in self.receive(min(0.2, max(0.0, deadline - time.monotonic()))):
                if text in message[1].split("\n"):
                    return message
        return None

    def close(self):
        self.sock.close()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)


class Member:
    """One ringkv process with its own ports, data dir and environment."""

    def __init__(self, name="default"):
        self.name = name
        self.client_port = free_port()
        self.peer_port = free_port()
        self.data_dir = tempfile.mkdtemp(prefix="ringkv-test-", dir="/tmp")  # exists and is empty, as StateDirectory=
        self.log_path = self.data_dir + ".log"
        self.proc = None

    @property
    def peer_url(self):
        return "http://127.0.0.1:%d" % self.peer_port

    def start(self, env, initial_cluster=None):
        client_url = "http://127.0.0.1:%d" % self.client_port
        args = [RINGKV, "--name", self.name, "--data-dir", self.data_dir,
                "--listen-client-urls", client_url, "--advertise-client-urls", client_url,
                "--listen-peer-urls", self.peer_url, "--initial-advertise-peer-urls", self.peer_url,
                "--heartbeat-interval", "50", "--election-timeout", "500"]
        if initial_cluster:
            args += ["--initial-cluster", initial_cluster]
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTIFY_", "WATCHDOG_", "ETCD_"))}
        full_env.update(env)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=full_env)
        return self

    def etcdctl(self, *args):
        return subprocess.run(["etcdctl", "--endpoints", "127.0.0.1:%d" % self.client_port] + list(args),
                              capture_output=True, text=True, timeout=20, env=dict(os.environ, ETCDCTL_API="3"))

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def terminate(self):
        """SIGTERM by PID; the exit code (SIGKILL and an error if it does not stop)."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("ringkv did not stop on SIGTERM:\n" + self.log_text())

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc is not None:
            self.log.close()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        try:
            os.unlink(self.log_path)
        except OSError:
            pass


class SystemdNotify(unittest.TestCase):
    def setUp(self):
        self.members = []
        self.sockets = []

    def tearDown(self):
        for member in self.members:
            member.cleanup()
        for fake in self.sockets:
            fake.close()

    def fake_systemd(self, abstract=False):
        fake = FakeSystemd(abstract)
        self.sockets.append(fake)
        return fake

    def member(self, name="default"):
        member = Member(name)
        self.members.append(member)
        return member

    def assert_ready_and_serving(self, member, fake):
        ready = fake.wait_for("READY=1", READY_TIMEOUT_S)
        self.assertIsNotNone(ready, "no READY=1; log:\n" + member.log_text())
        self.assertEqual(ready[2], member.proc.pid, "READY=1 must come from ringkv's own PID")
        put = member.etcdctl("put", "ready-key", "v")  # it serves: a write commits right away
        self.assertEqual(put.returncode, 0, put.stderr)
        return ready

    def assert_stops_with_stopping(self, member, fake):
        self.assertEqual(member.terminate(), 0, member.log_text())
        stopping = fake.wait_for("STOPPING=1", 2)
        self.assertIsNotNone(stopping, "no STOPPING=1 on SIGTERM; log:\n" + member.log_text())
        self.assertEqual(stopping[2], member.proc.pid)

    def test_ready_watchdog_and_stopping_on_a_path_socket(self):
        fake = self.fake_systemd()
        member = self.member().start({"NOTIFY_SOCKET": fake.env_value, "WATCHDOG_USEC": "400000"})
        ready = self.assert_ready_and_serving(member, fake)
        self.assertTrue(ready[1].startswith("READY=1\n"), ready[1])
        self.assertIn("STATUS=serving client requests", ready[1])
        fake.receive(1.2)  # pings every 200 ms
        pings = [m for m in fake.messages if m[1] == "WATCHDOG=1"]
        self.assertGreaterEqual(len(pings), 4, fake.messages)
        self.assertTrue(all(m[2] == member.proc.pid for m in pings))
        gaps = [b[0] - a[0] for a, b in zip(pings, pings[1:])]
        self.assertLess(max(gaps), 0.4, "a ping gap reached WATCHDOG_USEC: %s" % gaps)
        self.assert_stops_with_stopping(member, fake)
        self.assertEqual(len([m for m in fake.messages if m[1].startswith("READY=1")]), 1, fake.messages)

    def test_abstract_socket_and_no_watchdog_unless_asked(self):
        fake = self.fake_systemd(abstract=True)
        member = self.member().start({"NOTIFY_SOCKET": fake.env_value})
        self.assert_ready_and_serving(member, fake)
        fake.receive(0.8)
        self.assertFalse([m for m in fake.messages if m[1] == "WATCHDOG=1"], fake.messages)
        self.assert_stops_with_stopping(member, fake)

    def test_watchdog_meant_for_another_process_is_not_fed(self):
        fake = self.fake_systemd(abstract=True)
        member = self.member().start({"NOTIFY_SOCKET": fake.env_value, "WATCHDOG_USEC": "200000",
                                      "WATCHDOG_PID": "1"})
        self.assert_ready_and_serving(member, fake)
        fake.receive(0.8)
        self.assertFalse([m for m in fake.messages if m[1] == "WATCHDOG=1"], fake.messages)
        self.assert_stops_with_stopping(member, fake)

    def test_unusable_notify_socket_is_a_warning(self):
        member = self.member().start({"NOTIFY_SOCKET": "relative/notify"})
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline and member.etcdctl("put", "k", "v").returncode != 0:
            time.sleep(0.2)
        self.assertEqual(member.etcdctl("get", "k").returncode, 0)
        self.assertIn("NOTIFY_SOCKET is not an absolute path", member.log_text())
        self.assertEqual(member.terminate(), 0)

    def test_ready_waits_for_a_quorum(self):
        a, b, c = self.member("a"), self.member("b"), self.member("c")
        cluster = ",".join("%s=%s" % (m.name, m.peer_url) for m in (a, b, c))
        fake_a, fake_b = self.fake_systemd(), self.fake_systemd(abstract=True)
        a.start({"NOTIFY_SOCKET": fake_a.env_value}, cluster)
        self.assertIsNone(fake_a.wait_for("READY=1", 3), "READY=1 without a quorum")
        self.assertIsNone(a.proc.poll(), a.log_text())
        b.start({"NOTIFY_SOCKET": fake_b.env_value}, cluster)
        self.assert_ready_and_serving(a, fake_a)
        self.assert_ready_and_serving(b, fake_b)
        self.assert_stops_with_stopping(b, fake_b)
        self.assert_stops_with_stopping(a, fake_a)


if __name__ == "__main__":
    unittest.main(verbosity=2)
