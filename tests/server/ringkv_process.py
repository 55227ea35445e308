"""tests/server/ringkv_process.py - start and stop a real `ringkv` server for integration tests.

The binary is the first command-line argument of every integration test (meson passes the built
executable). Each server gets a free loopback port and a temporary data dir under /tmp; it is always
stopped by PID (SIGTERM, then SIGKILL if it does not exit) and its data dir removed.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from loopback_ports import free_port  # noqa: E402,F401  (re-exported for the tests)

RINGKV = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else os.environ.get("RINGKV", "build/ringkv")
START_TIMEOUT_S = 15
STOP_TIMEOUT_S = 15


def log_entries(log_text, message):
    """The JSON log lines of `log_text` whose "msg" is `message`, as dicts (other lines are skipped)."""
    entries = []
    for line in log_text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("msg") == message:
            entries.append(entry)
    return entries


# An AddressSanitizer build keeps up to 256 MiB of freed memory in its quarantine and puts redzones around
# every block, so its RSS says little about ringkv's own memory: a test that bounds the member's RSS starts
# it with a small quarantine (small_asan_quarantine_env()) and allows twice the bound when
# RingkvServer.sanitized().
ASAN_SMALL_QUARANTINE = "quarantine_size_mb=16:thread_local_quarantine_size_kb=256"


def small_asan_quarantine_env():
    options = os.environ.get("ASAN_OPTIONS", "")
    return dict(os.environ, ASAN_OPTIONS=(options + ":" if options else "") + ASAN_SMALL_QUARANTINE)


class RingkvServer:
    """One ringkv process on 127.0.0.1:<free port> with its own data dir (kept across restart())."""

    def __init__(self, extra_args=(), data_dir=None, env=None):
        self.env = env
        self.port = free_port()
        self.owns_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="ringkv-test-", dir="/tmp")
        self.extra_args = list(extra_args)
        self.proc = None
        self.log_path = os.path.join(tempfile.gettempdir(), "ringkv-test-%d.log" % self.port)

    @property
    def endpoint(self):
        return "127.0.0.1:%d" % self.port

    def command(self, url):
        """The command line serving clients on `url` (a subclass may start another etcd-compatible server)."""
        return [RINGKV, "--data-dir", self.data_dir, "--listen-client-urls", url,
                "--advertise-client-urls", url] + self.extra_args

    def start(self):
        args = self.command("http://127.0.0.1:%d" % self.port)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.time() + START_TIMEOUT_S
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("ringkv exited with %d:\n%s" % (self.proc.returncode, self.log_text()))
            try:
                if json.loads(self.http_get("/health")).get("health") == "true":
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError("ringkv did not become healthy:\n" + self.log_text())

    def sanitized(self):
        """Whether the running member is an AddressSanitizer build (libasan in its maps)."""
        with open("/proc/%d/maps" % self.proc.pid) as f:
            return "libasan" in f.read()

    def http_get(self, path):
        with urllib.request.urlopen("http://%s%s" % (self.endpoint, path), timeout=5) as response:
            return response.read().decode()

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self):
        """SIGTERM by PID; returns the exit code."""
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("ringkv did not stop on SIGTERM:\n" + self.log_text())
        self.proc = None
        self.log.close()
        return code

    def kill(self):
        """SIGKILL by PID (a crash)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc = None
        self.log.close()

    def restart(self):
        self.stop()
        return self.start()

    def cleanup(self):
        """Stops the server with SIGTERM (a clean shutdown must exit 0) and removes its files."""
        failure = None
        if self.proc is not None:
            if self.proc.poll() is not None:  # it died on its own: show why
                failure = "ringkv exited unexpectedly with %d" % self.proc.returncode
                self.kill()
            else:
                code = self.stop()
                if code != 0:
                    failure = "ringkv exited with %d on SIGTERM" % code
        if failure:
            sys.stderr.write("%s; its log:\n%s\n" % (failure, self.log_text()))
        if self.owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        try:
            os.unlink(self.log_path)
        except OSError:
            pass
        if failure:
            raise AssertionError(failure)

    def etcdctl(self, *args, input=None, check=True, timeout=20):
        env = dict(os.environ, ETCDCTL_API="3")
        result = subprocess.run(["etcdctl", "--endpoints", self.endpoint] + list(args), input=input,
                                capture_output=True, text=True, env=env, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError("etcdctl %s failed (%d): %s%s" % (" ".join(args), result.returncode,
                                                                   result.stdout, result.stderr))
        return result
