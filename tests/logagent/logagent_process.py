"""tests/logagent/logagent_process.py - the processes of the logagent tests: ringkv-logagent and the
librdkafka mock cluster helper, each started on loopback and stopped by its PID; plus kcat read-back.
Arguments (from meson): ringkv, ringkv-logagent, kafka_mock_cluster (ringkv is taken by ringkv_process)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))
from ringkv_process import RingkvServer, free_port, log_entries  # noqa: E402,F401

AGENT = os.path.abspath(sys.argv.pop(1))
MOCK = os.path.abspath(sys.argv.pop(1))


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


class MockKafka:
    """kafka_mock_cluster: bootstrap servers from its first line; down/up/topic over stdin."""

    def __init__(self, brokers=3):
        self.proc = subprocess.Popen([MOCK, str(brokers)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, bufsize=1)
        first = self.proc.stdout.readline().split()
        assert first[:1] == ["bootstrap"], first
        self.bootstrap = first[1]

    def command(self, text, answers=1):
        """Sends one command; returns the helper's `answers` reply lines (one per broker or topic)."""
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        return [self.proc.stdout.readline().strip() for _ in range(answers)]

    def read_topic(self, topic):
        """Every message value of `topic`, from the beginning (kcat -e: until the end of each partition)."""
        out = subprocess.run(["kcat", "-C", "-b", self.bootstrap, "-t", topic, "-o", "beginning", "-e", "-q",
                              "-f", "%s\\n"], capture_output=True, text=True, timeout=30)
        return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdin.close()
        self.proc.stdout.close()


class Agent:
    """ringkv-logagent with its own state dir; stderr (JSON log lines) to a file."""

    def __init__(self, endpoint, host, sink, env=None, extra_args=()):
        self.state_dir = tempfile.mkdtemp(prefix="logagent-state-", dir="/tmp")
        self.metrics_port = free_port()
        self.args = [AGENT, "--endpoints", endpoint, "--host", host, "--sink", sink, "--state-dir",
                     self.state_dir, "--metrics-addr", "127.0.0.1:%d" % self.metrics_port, "--poll-ms", "50"] + list(extra_args)
        self.env = dict(os.environ, **(env or {}))
        self.log_path = os.path.join(self.state_dir, "agent.log")
        self.proc = None

    def start(self):
        started_before = len(log_entries(self.log_text(), "logagent: started")) if self.proc is None and os.path.exists(self.log_path) else 0
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT, env=self.env)
        wait_for(lambda: len(log_entries(self.log_text(), "logagent: started")) > started_before or
                 self.proc.poll() is not None, 10, "the agent to start")
        assert self.proc.poll() is None, self.log_text()
        return self

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def metrics(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.metrics_port, timeout=5) as r:
            values = {}
            for line in r.read().decode().splitlines():
                if line and not line.startswith("#"):
                    name, value = line.rsplit(" ", 1)
                    values[name] = float(value)
            return values

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        """SIGTERM by PID; returns the exit code."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("agent did not stop on SIGTERM:\n" + self.log_text())
        self.proc = None
        self.log.close()
        return code

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self.proc = None
        self.log.close()

    def cleanup(self):
        if self.proc is not None:
            self.kill()
        shutil.rmtree(self.state_dir, ignore_errors=True)


class LineWriter:
    """Appends numbered lines "<tag> <n> <padding>" to a file, flushing each batch."""

    def __init__(self, path, tag):
        self.path, self.tag, self.next = path, tag, 0

    def write(self, count):
        with open(self.path, "a") as f:
            for _ in range(count):
                f.write("%s %d xxxxxxxxxxxxxxxxxxxxxxxx\n" % (self.tag, self.next))
                self.next += 1


def sequence_numbers(lines, tag):
    """The sequence numbers of the records whose line carries `tag`, as a list (duplicates kept)."""
    out = []
    for line in lines:
        words = line.split()
        if len(words) >= 2 and words[0] == tag:
            out.append(int(words[1]))
    return out
