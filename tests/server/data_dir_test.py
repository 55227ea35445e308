"""tests/server/data_dir_test.py - ringkv never touches a file it did not write (issue 18, part 1).

Real processes: a real etcd 3.4 (Debian's etcd-server) makes a data dir with some keys and is stopped
by PID; ringkv started on that dir must exit non-zero with one JSON error line naming what it found,
and every etcd file and folder must be exactly as it was (bytes, size, mtime, mode, no new entries) -
etcd then still serves its keys from it. A ringkv data dir with a stray file in its WAL folder is refused
the same way with the file left alone; a ringkv data dir from before the marker file opens and is marked.
Usage: data_dir_test.py path/to/ringkv
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__))))
from ringkv_process import RINGKV, RingkvServer, free_port  # noqa: E402

REFUSAL_TIMEOUT_S = 20


def tree_state(root):
    """Every entry under root (root included): path -> (kind, mode, size, mtime_ns, sha256 or listing)."""
    state = {}
    for folder, dirs, files in os.walk(root):
        st = os.lstat(folder)
        state[os.path.relpath(folder, root)] = ("dir", st.st_mode, st.st_mtime_ns, sorted(dirs + files))
        for name in files:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            with open(path, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            state[os.path.relpath(path, root)] = ("file", st.st_mode, st.st_size, st.st_mtime_ns, digest)
    return state


class Etcd(RingkvServer):
    """One real etcd 3.4 member on loopback ports with the given data dir: RingkvServer's start (wait for
    /health), etcdctl and stop by PID, with etcd's command line."""

    def __init__(self, data_dir):
        super().__init__(data_dir=data_dir)
        self.peer_url = "http://127.0.0.1:%d" % free_port()

    def command(self, url):
        return ["etcd", "--name", "default", "--data-dir", self.data_dir,
                "--listen-client-urls", url, "--advertise-client-urls", url,
                "--listen-peer-urls", self.peer_url, "--initial-advertise-peer-urls", self.peer_url,
                "--initial-cluster", "default=" + self.peer_url]

    def cleanup(self):
        """Stops etcd by PID (it re-raises SIGTERM after shutting down: no exit code to check), drops its log."""
        self.stop()
        os.unlink(self.log_path)


def run_ringkv_expecting_refusal(data_dir):
    """Starts ringkv on data_dir; returns (exit code, the JSON log lines). Killed by PID if it serves."""
    port = free_port()
    url = "http://127.0.0.1:%d" % port
    proc = subprocess.Popen([RINGKV, "--data-dir", data_dir, "--listen-client-urls", url,
                             "--advertise-client-urls", url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out, _ = proc.communicate(timeout=REFUSAL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise AssertionError("ringkv did not exit on a data dir it must refuse:\n" + out.decode(errors="replace"))
    lines = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    return proc.returncode, lines


class DataDirTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ringkv-datadir-test-", dir="/tmp")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def assert_one_refusal(self, code, lines, *expected_parts):
        self.assertNotEqual(code, 0, lines)
        errors = [line for line in lines if line["level"] == "error"]
        self.assertEqual(len(errors), 1, lines)
        for part in expected_parts:
            self.assertIn(part, errors[0]["msg"], errors[0])
        self.assertFalse(any(line["msg"] in ("opened WAL", "ringkv is serving") for line in lines), lines)
        return errors[0]

    def test_etcd_data_dir_is_refused_and_left_byte_for_byte_unchanged(self):
        data_dir = os.path.join(self.tmp, "default")  # Debian's unit: /var/lib/etcd/default
        etcd = Etcd(data_dir).start()
        try:
            for i in range(50):
                etcd.etcdctl("put", "migrate/%02d" % i, "value %d" % i)
            etcd.etcdctl("del", "migrate/07")
        finally:
            etcd.cleanup()
        wal_dir = os.path.join(data_dir, "member", "wal")
        self.assertIn("0000000000000000-0000000000000000.wal", os.listdir(wal_dir))
        self.assertTrue(os.path.exists(os.path.join(data_dir, "member", "snap", "db")))
        before = tree_state(data_dir)
        time.sleep(0.05)  # a change would show in the mtimes

        for _ in range(2):  # a second start finds the same, nothing was changed by the first
            code, lines = run_ringkv_expecting_refusal(data_dir)
            refusal = self.assert_one_refusal(code, lines, "data dir %s holds an etcd data dir" % data_dir,
                                              "member/snap/db", "member/wal/0000000000000000-0000000000000000.wal",
                                              "etcdctl snapshot save", "--data-dir")
            self.assertEqual(refusal["data-dir"], data_dir)
            self.assertEqual(tree_state(data_dir), before)

        # etcd still serves everything from it.
        etcd = Etcd(data_dir).start()
        try:
            keys = etcd.etcdctl("get", "migrate/", "--prefix", "--keys-only").stdout.split()
            self.assertEqual(len(keys), 49)
            self.assertEqual(etcd.etcdctl("get", "migrate/42", "--print-value-only").stdout.strip(), "value 42")
        finally:
            etcd.cleanup()

    def ringkv_data_dir(self, name, keys, crash):
        """A data dir written by ringkv holding `keys` (k0..), left by SIGTERM or, with `crash`, kill -9."""
        data_dir = os.path.join(self.tmp, name)
        server = RingkvServer(data_dir=data_dir).start()
        for i in range(keys):
            server.etcdctl("put", "k%d" % i, "v%d" % i)
        if crash:
            server.kill()
        server.cleanup()
        return data_dir

    def assert_serves_keys(self, data_dir, keys, expected_log=None):
        server = RingkvServer(data_dir=data_dir).start()
        try:
            if expected_log:
                self.assertIn(expected_log, server.log_text())
            self.assertEqual(len(server.etcdctl("get", "k", "--prefix", "--keys-only").stdout.split()), keys)
            self.assertEqual(server.etcdctl("get", "k0", "--print-value-only").stdout.strip(), "v0")
        finally:
            server.cleanup()
        with open(os.path.join(data_dir, "ringkv.version")) as f:
            self.assertEqual(f.read(), "ringkv data dir format 1\n")

    def test_unknown_file_in_ringkvs_wal_folder_is_refused_and_kept(self):
        data_dir = self.ringkv_data_dir("ringkv", keys=3, crash=False)
        stray = os.path.join(data_dir, "member", "wal", "notes.txt")
        with open(stray, "w") as f:
            f.write("an operator's note\n")
        before = tree_state(data_dir)
        time.sleep(0.05)
        code, lines = run_ringkv_expecting_refusal(data_dir)
        self.assert_one_refusal(code, lines, "files ringkv did not write", "member/wal/notes.txt")
        self.assertEqual(tree_state(data_dir), before)
        os.unlink(stray)
        self.assert_serves_keys(data_dir, 3)

    def test_ringkv_data_dir_from_before_the_marker_opens_and_is_marked(self):
        data_dir = self.ringkv_data_dir("old-ringkv", keys=20, crash=True)
        os.unlink(os.path.join(data_dir, "ringkv.version"))
        self.assert_serves_keys(data_dir, 20, "marked a data dir made by an earlier ringkv")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
