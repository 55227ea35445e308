#!/usr/bin/env python3
"""ringkv-bench against a real server (etcd 3.4 by default, or ringkv): a few hundred requests per
workload. Checks that what the load generator says it did is what the server saw (revision delta from
`etcdctl endpoint status -w json`), that requests the server rejects are counted as errors by gRPC code,
and that the text summary has etcd's tool's lines. Starts the server on free loopback ports with a temp
data dir and stops it by PID.

usage: loadgen_server_test.py BENCH_BINARY [SERVER_BINARY]   (server default: etcd from PATH)
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

BENCH = None
SERVER = None
READY_TIMEOUT_S = 30
RUN_TIMEOUT_S = 60


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))
from loopback_ports import free_port  # noqa: E402


class server_process:
    def __init__(self, binary):
        self.data_dir = tempfile.mkdtemp(prefix="ringkv-bench-test-")
        self.client_port, peer_port = free_port(), free_port()
        self.endpoint = f"127.0.0.1:{self.client_port}"
        client_url, peer_url = f"http://{self.endpoint}", f"http://127.0.0.1:{peer_port}"
        self.log = open(os.path.join(self.data_dir, "server.log"), "w")
        self.process = subprocess.Popen(
            [binary, "--name=bench-test", f"--data-dir={self.data_dir}/data",
             f"--listen-client-urls={client_url}", f"--advertise-client-urls={client_url}",
             f"--listen-peer-urls={peer_url}", f"--initial-advertise-peer-urls={peer_url}",
             f"--initial-cluster=bench-test={peer_url}", "--initial-cluster-state=new"],
            stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self):
        deadline = time.time() + READY_TIMEOUT_S
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}: {self.log_tail()}")
            try:
                self.revision()
                return
            except (RuntimeError, subprocess.TimeoutExpired):
                time.sleep(0.3)
        raise RuntimeError("server not ready: " + self.log_tail())

    def log_tail(self):
        self.log.flush()
        with open(os.path.join(self.data_dir, "server.log")) as f:
            return f.read()[-2000:]

    def revision(self):
        status = subprocess.run(["etcdctl", f"--endpoints={self.endpoint}", "--dial-timeout=1s",
                                 "endpoint", "status", "-w", "json"],
                                capture_output=True, text=True, timeout=10, env=dict(os.environ, ETCDCTL_API="3"))
        if status.returncode != 0:
            raise RuntimeError(status.stderr)
        return json.loads(status.stdout)[0]["Status"]["header"]["revision"]

    def stop(self):
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()
        shutil.rmtree(self.data_dir, ignore_errors=True)


class LoadgenAgainstServer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = server_process(SERVER)
        try:
            cls.server.wait_ready()
        except Exception:
            cls.server.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def bench(self, *args, json_output=True):
        command = [BENCH, f"--endpoints={self.server.endpoint}"] + (["--json"] if json_output else []) + list(args)
        run = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
        self.assertEqual(run.returncode, 0, f"{command}: {run.stderr}")
        if not json_output:
            return run.stdout
        return json.loads(run.stdout.strip().splitlines()[-1])["results"]

    def counted(self, result, name):
        return result["counters"].get(name, 0)

    def assert_writes(self, args, expected_requests, expected_delta=None):
        before = self.server.revision()
        results = self.bench(*args)
        after = self.server.revision()
        headline = results[-1]
        self.assertEqual(headline["requests_failed"], 0, headline["errors"])
        self.assertEqual(headline["requests_ok"], expected_requests)
        self.assertEqual(after - before, expected_requests if expected_delta is None else expected_delta)
        return results

    def test_put_count_matches_revision_delta(self):
        self.assert_writes(["--conns=2", "--clients=8", "put", "--total=300", "--key-size=8", "--val-size=64",
                            "--sequential-keys", "--key-space-size=1000"], 300)

    def test_two_client_shards_share_one_plan(self):
        self.assert_writes(["--shards=2", "--conns=2", "--clients=6", "put", "--total=301",
                            "--key-space-size=1000"], 301)

    def test_txn_put_count_matches_revision_delta(self):
        self.assert_writes(["--conns=1", "--clients=4", "txn-put", "--total=200", "--txn-ops=3",
                            "--key-space-size=600"], 200)

    def test_range_does_not_write(self):
        for consistency in ("l", "s"):
            self.assert_writes(["--clients=8", "range", "foo", f"--consistency={consistency}", "--total=300"],
                               300, expected_delta=0)

    def test_mixed_writes_match_revision_delta(self):
        before = self.server.revision()
        results = self.bench("--clients=8", "mixed", "--rw-ratio=3", "--total=400", "--key-space-size=50")
        writes = self.counted(results[-1], "writes")
        self.assertEqual(results[-1]["requests_ok"], 400)
        self.assertEqual(writes, 100)  # one write in every rw-ratio + 1 = 4 requests
        self.assertEqual(self.server.revision() - before, writes)

    def test_txn_mixed_writes_match_revision_delta(self):
        before = self.server.revision()
        results = self.bench("--clients=8", "txn-mixed", "--rw-ratio=1", "--total=200", "--key-space-size=4")
        headline = results[-1]
        self.assertEqual(headline["requests_ok"], 200)
        writes = self.counted(headline, "writes")
        lost = self.counted(headline, "txn compare failed")
        self.assertEqual(writes + lost, 100)
        self.assertEqual(self.server.revision() - before, writes)

    def test_lease_keepalive_does_not_write(self):
        self.assert_writes(["--clients=4", "lease-keepalive", "--total=300"], 300, expected_delta=0)

    def test_watch_receives_every_event(self):
        before = self.server.revision()
        results = self.bench("--conns=2", "--clients=4", "watch", "--streams=4", "--watch-per-stream=5",
                             "--watched-key-total=4", "--key-space-size=4", "--sequential-keys",
                             "--put-total=200")
        creation, puts, events = results
        self.assertEqual(creation["requests_ok"], 20)
        self.assertEqual(puts["requests_ok"], 200)
        self.assertEqual(events["requests_failed"], 0, events["errors"])
        # 20 watches over 4 distinct keys: 5 per key, so every put makes 5 events.
        self.assertEqual(events["requests_ok"], 1000)
        self.assertEqual(events["counters"]["events expected"], 1000)
        self.assertEqual(self.server.revision() - before, 200)

    def test_watch_on_one_key_counts_every_watcher(self):
        # etcd's default key space is 1: every watched key is the same key, so each put reaches all 20.
        results = self.bench("--clients=2", "watch", "--streams=2", "--watch-per-stream=10",
                             "--watched-key-total=4", "--put-total=50")
        self.assertEqual(results[-1]["requests_ok"], 1000)
        self.assertEqual(results[-1]["requests_failed"], 0, results[-1]["errors"])

    def test_watch_latency_receives_every_event(self):
        before = self.server.revision()
        results = self.bench("--clients=3", "watch-latency", "--total=100", "--put-rate=1000")
        self.assertEqual(results[-1]["requests_ok"], 300)
        self.assertEqual(self.server.revision() - before, 100)

    def test_rejected_requests_are_counted_as_errors(self):
        before = self.server.revision()
        # etcd rejects a Range without a key, and a Txn with more than 128 operations.
        results = self.bench("--clients=2", "range", "", "--total=50")
        self.assertEqual(results[-1]["requests_ok"], 0)
        self.assertEqual(results[-1]["requests_failed"], 50)
        self.assertEqual(results[-1]["errors"]["InvalidArgument"]["count"], 50)
        self.assertIn("key is not provided", results[-1]["errors"]["InvalidArgument"]["message"])
        results = self.bench("txn-put", "--total=20", "--txn-ops=200", "--key-space-size=1000")
        self.assertEqual(results[-1]["requests_failed"], 20)
        self.assertIn("too many operations", results[-1]["errors"]["InvalidArgument"]["message"])
        self.assertEqual(self.server.revision(), before)

    def test_text_summary_has_etcd_lines(self):
        text = self.bench("--clients=4", "put", "--total=100", json_output=False)
        for line in ("Summary:", "Requests/sec:", "Response time histogram:", "Latency distribution:",
                     "99.9% in", "Client CPU:"):
            self.assertIn(line, text)

    def test_duration_and_rate_bound_an_open_loop_run(self):
        started = time.time()
        results = self.bench("--clients=4", "--duration=1s", "--rate=200", "put")
        elapsed = time.time() - started
        self.assertLess(elapsed, 10)
        self.assertGreaterEqual(results[-1]["requests_ok"], 150)
        self.assertLessEqual(results[-1]["requests_ok"], 201)

    def test_target_leader_finds_the_leader(self):
        # The first endpoint does not answer; --target-leader asks the next one for the leader's URL.
        dead = f"127.0.0.1:{free_port()}"
        command = [BENCH, f"--endpoints={dead},{self.server.endpoint}", "--dial-timeout=1s", "--target-leader",
                   "--json", "put", "--total=50"]
        run = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(json.loads(run.stdout.strip().splitlines()[-1])["results"][-1]["requests_ok"], 50)

    def test_unreachable_endpoint_fails_cleanly(self):
        port = free_port()
        run = subprocess.run([BENCH, f"--endpoints=127.0.0.1:{port}", "--dial-timeout=1s", "put", "--total=5"],
                             capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
        self.assertEqual(run.returncode, 1)
        self.assertIn("dial error", run.stderr)


class LoadgenWhenTheServerDies(unittest.TestCase):
    def test_in_flight_requests_fail_as_unavailable_and_the_run_ends(self):
        server = server_process(SERVER)
        try:
            server.wait_ready()
            bench = subprocess.Popen([BENCH, f"--endpoints={server.endpoint}", "--clients=8", "--duration=20s",
                                      "--json", "put"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(1)
            os.kill(server.process.pid, signal.SIGKILL)
            out, err = bench.communicate(timeout=RUN_TIMEOUT_S)
        finally:
            server.stop()
        self.assertEqual(bench.returncode, 0, err)
        headline = json.loads(out.strip().splitlines()[-1])["results"][-1]
        self.assertGreater(headline["requests_ok"], 0)
        # At most one failure per client (its request in flight); then the client stops, the run ends.
        self.assertGreaterEqual(headline["requests_failed"], 1)
        self.assertLessEqual(headline["requests_failed"], 8)
        self.assertIn("Unavailable", headline["errors"])
        self.assertLess(headline["elapsed_s"], 10)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    BENCH = sys.argv[1]
    SERVER = sys.argv[2] if len(sys.argv) > 2 else shutil.which("etcd")
    if not SERVER:
        print("etcd is not installed (scripts/deps.sh installs etcd-server)")
        sys.exit(77)  # meson: skipped
    unittest.main(argv=[sys.argv[0], "-v"])
