"""tests/deploy/config_test.py - the real ringkv binary configured as a packaged etcd is: from etcd's YAML
config file, and from an /etc/default-style environment file as systemd's EnvironmentFile= reads it.

What an operator relies on:
- `--config-file` in etcd's format (nulls, nested transport-security maps, lists, booleans): the member
  serves with the file's name and URLs, logs to the file's log-outputs path, and names the command-line
  flags and ETCD_* variables it ignores (etcd ignores them silently);
- ETCD_CONFIG_FILE from an environment file selects the file the same way;
- ETCD_* variables and DAEMON_ARGS from an environment file configure a member; flags win; a flag with no
  effect in ringkv is a warning that says why; a Go boolean and Go duration are read as etcd reads them;
- a flag that matters and is not built (v2, auth, journald) stops the start with exit 2
  and one clear line; every flag of the installed etcd's --help is known to ringkv --help;
- --version names the git revision the binary was built from.
Every process is stopped by PID; temporary files are removed.
"""
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))
from ringkv_process import RINGKV, free_port  # noqa: E402

SOURCE_DIR = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
START_TIMEOUT_S = 20
STOP_TIMEOUT_S = 15
# The client-port TLS flags are configured by the TLS code, not by this table.
CLIENT_TLS_FLAGS = {"cert-file", "key-file", "client-cert-auth", "client-crl-file", "trusted-ca-file", "auto-tls",
                    "cipher-suites"}


def read_environment_file(path):
    """KEY=VALUE lines as systemd's EnvironmentFile= reads them (comments, blank lines, quotes)."""
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith(("#", ";")):
                continue
            key, _, value = line.partition("=")
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            env[key.strip()] = value
    return env


def base_environment():
    return {k: v for k, v in os.environ.items() if not k.startswith(("ETCD_", "NOTIFY_", "WATCHDOG_"))}


class Deployment(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ringkv-config-test-", dir="/tmp")
        self.proc = None
        self.stderr_path = os.path.join(self.dir, "stderr.log")

    def tearDown(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def start(self, args, env):
        self.stderr = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen([RINGKV] + args, stdout=self.stderr, stderr=subprocess.STDOUT, env=env)
        self.addCleanup(self.stderr.close)

    def stderr_text(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")

    def etcdctl(self, port, *args):
        return subprocess.run(["etcdctl", "--endpoints", "127.0.0.1:%d" % port] + list(args), capture_output=True,
                              text=True, timeout=20, env=dict(base_environment(), ETCDCTL_API="3"))

    def wait_serving(self, port, log_text):
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            self.assertIsNone(self.proc.poll(), "ringkv exited:\n" + log_text())
            if self.etcdctl(port, "put", "probe", "1").returncode == 0:
                return
            time.sleep(0.2)
        self.fail("ringkv did not serve:\n" + log_text())

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(STOP_TIMEOUT_S), 0)

    def member_names(self, port):
        listed = self.etcdctl(port, "member", "list", "-w", "json")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        return [m.get("name") for m in json.loads(listed.stdout)["members"]]

    def refused(self, args, env_extra=None):
        env = base_environment()
        env.update(env_extra or {})
        out = subprocess.run([RINGKV, "--data-dir", os.path.join(self.dir, "never")] + args, capture_output=True,
                             text=True, timeout=10, env=env)
        self.assertEqual(out.returncode, 2, out.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "never")), "a refused start created its data dir")
        return out.stderr

    def test_etcd_config_file(self):
        client, peer = free_port(), free_port()
        log_file = os.path.join(self.dir, "ringkv.log")
        config = os.path.join(self.dir, "ringkv.conf.yml")
        with open(config, "w") as f:
            f.write("""# in the shape of etcd's etcd.conf.yml.sample
name: 'from-file'
data-dir: %(dir)s/data
wal-dir:
snapshot-count: 10000
heartbeat-interval: 100
election-timeout: 1000
quota-backend-bytes: 0
listen-peer-urls: http://127.0.0.1:%(peer)d
listen-client-urls: http://127.0.0.1:%(client)d
max-snapshots: 5
cors:
initial-advertise-peer-urls: http://127.0.0.1:%(peer)d
advertise-client-urls: http://127.0.0.1:%(client)d
discovery:
discovery-fallback: 'proxy'
discovery-proxy:
discovery-srv:
initial-cluster:
initial-cluster-token: 'etcd-cluster'
initial-cluster-state: 'new'
strict-reconfig-check: true
enable-v2: false
enable-pprof: false
proxy: 'off'
client-transport-security:
  cert-file:
  key-file:
  client-cert-auth: false
  trusted-ca-file:
  auto-tls: false
peer-transport-security:
  cert-file:
  key-file:
  client-cert-auth: false
  trusted-ca-file:
  auto-tls: false
debug: false
logger: zap
log-outputs: [%(log)s]
force-new-cluster: false
auto-compaction-mode: periodic
auto-compaction-retention: "1"
backend-batch-interval: 10000000
""" % {"dir": self.dir, "peer": peer, "client": client, "log": log_file})
        env = base_environment()
        env["ETCD_NAME"] = "from-environment"
        self.start(["--config-file", config, "--snapshot-count", "5"], env)

        def log_text():
            text = self.stderr_text()
            if os.path.exists(log_file):
                text += open(log_file).read()
            return text
        self.wait_serving(client, log_text)
        self.assertEqual(self.member_names(client), ["from-file"])
        self.assertTrue(os.path.isdir(os.path.join(self.dir, "data", "member", "wal")))
        with open(log_file) as f:
            lines = [json.loads(line) for line in f if line.strip()]
        messages = [line["msg"] for line in lines]
        self.assertIn("loaded server configuration", messages)
        self.assertTrue(any("other command-line flags and environment variables are ignored (--snapshot-count, "
                            "ETCD_NAME)" in m for m in messages), messages)
        self.assertTrue(any("config file key 'max-snapshots'='5' has no effect in ringkv" in m for m in messages))
        self.assertTrue(any("config file key 'backend-batch-interval'='10000000ns' has no effect" in m
                            for m in messages), messages)
        self.assertEqual(self.stderr_text(), "", "with log-outputs set to a file, nothing goes to stderr")
        self.stop()

    def test_environment_file_as_systemd_reads_it(self):
        client, peer = free_port(), free_port()
        default_file = os.path.join(self.dir, "default-ringkv")
        with open(default_file, "w") as f:
            f.write("""## /etc/default/ringkv
ETCD_NAME=from-default-file
ETCD_DATA_DIR=%(dir)s/shadowed
ETCD_LISTEN_CLIENT_URLS=http://127.0.0.1:%(client)d
ETCD_ADVERTISE_CLIENT_URLS="http://127.0.0.1:%(client)d"
ETCD_LISTEN_PEER_URLS=http://127.0.0.1:%(peer)d
ETCD_INITIAL_ADVERTISE_PEER_URLS=http://127.0.0.1:%(peer)d
ETCD_INITIAL_CLUSTER_STATE=new
ETCD_INITIAL_ELECTION_TICK_ADVANCE=false
ETCD_PRE_VOTE=True
ETCD_STRICT_RECONFIG_CHECK=1
ETCD_EXPERIMENTAL_WATCH_PROGRESS_NOTIFY_INTERVAL=1.5s
ETCD_AUTO_COMPACTION_RETENTION=1h30m
# DAEMON_ARGS as the unit passes them: ExecStart=... --data-dir /var/lib/ringkv $DAEMON_ARGS
DAEMON_ARGS="--debug --max-snapshots=10"
""" % {"dir": self.dir, "client": client, "peer": peer})
        file_env = read_environment_file(default_file)
        env = base_environment()
        env.update(file_env)
        data_dir = os.path.join(self.dir, "state")
        os.mkdir(data_dir, 0o700)  # StateDirectory= makes it, empty, before the start
        self.start(["--data-dir", data_dir] + shlex.split(file_env["DAEMON_ARGS"]), env)
        self.wait_serving(client, self.stderr_text)
        self.assertEqual(self.member_names(client), ["from-default-file"])
        self.assertTrue(os.path.isdir(os.path.join(data_dir, "member", "wal")))
        self.assertFalse(os.path.exists(os.path.join(self.dir, "shadowed")))
        lines = [json.loads(line) for line in self.stderr_text().splitlines() if line.startswith("{")]
        messages = [line["msg"] for line in lines]
        self.assertIn("conflicting environment variable ETCD_DATA_DIR is shadowed by corresponding command-line "
                      "flag --data-dir", messages)
        self.assertTrue(any("ETCD_INITIAL_ELECTION_TICK_ADVANCE='false' has no effect in ringkv" in m
                            for m in messages), messages)
        self.assertTrue(any("--max-snapshots='10' has no effect" in m for m in messages), messages)
        self.assertFalse(any("PRE_VOTE" in m or "STRICT_RECONFIG" in m for m in messages), messages)
        self.assertIn("debug", [line["level"] for line in lines], "--debug from DAEMON_ARGS")
        starting = next(line for line in lines if line["msg"] == "starting an etcd server")
        self.assertEqual(starting["watch-progress-notify-interval-ms"], 1500)
        self.stop()

    def test_config_file_from_the_environment_file(self):
        client, peer = free_port(), free_port()
        config = os.path.join(self.dir, "ringkv.conf.yml")
        with open(config, "w") as f:
            f.write("name: env-selected\ndata-dir: %s/data\nlisten-client-urls: http://127.0.0.1:%d\n"
                    "advertise-client-urls: http://127.0.0.1:%d\nlisten-peer-urls: http://127.0.0.1:%d\n"
                    "initial-advertise-peer-urls: http://127.0.0.1:%d\n" % (self.dir, client, client, peer, peer))
        env = base_environment()
        env["ETCD_CONFIG_FILE"] = config
        self.start([], env)
        self.wait_serving(client, self.stderr_text)
        self.assertEqual(self.member_names(client), ["env-selected"])
        self.stop()

    def test_flags_that_matter_and_are_not_built_refuse_the_start(self):
        self.assertIn("KeyFile and CertFile must both be present[key: , cert: /etc/ringkv/peer.pem]",  # etcd's
                      self.refused(["--peer-cert-file", "/etc/ringkv/peer.pem"]))
        self.assertIn("ETCD_ENABLE_V2='true' is not built in ringkv: the etcd v2 API",
                      self.refused([], {"ETCD_ENABLE_V2": "true"}))
        self.assertIn("invalid value for --auth-token: auth: invalid auth signature method",
                      self.refused(["--auth-token", "jwt,pub-key=a.pub,priv-key=a.key,sign-method=RS257"]))
        self.assertIn('multi logoutput for \\"default\\" is not supported yet',  # etcd 3.4's words
                      self.refused(["--log-outputs", "default,stderr"]))
        self.assertIn("'systemd/journal' must be the only log output",
                      self.refused(["--log-outputs", "systemd/journal,stderr"]))
        config = os.path.join(self.dir, "v2.yml")
        with open(config, "w") as f:
            f.write("enable-v2: true\n")
        self.assertIn("config file key 'enable-v2'='true' is not built", self.refused(["--config-file", config]))

    def test_log_goes_to_every_output(self):
        client, peer = free_port(), free_port()
        first, second = os.path.join(self.dir, "first.log"), os.path.join(self.dir, "second.log")
        self.start(["--name", "two-outputs", "--data-dir", os.path.join(self.dir, "data"),
                    "--listen-client-urls", "http://127.0.0.1:%d" % client,
                    "--advertise-client-urls", "http://127.0.0.1:%d" % client,
                    "--listen-peer-urls", "http://127.0.0.1:%d" % peer,
                    "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % peer,
                    "--initial-cluster", "two-outputs=http://127.0.0.1:%d" % peer,
                    "--log-outputs", "%s,stderr,%s" % (first, second)], base_environment())
        self.wait_serving(client, self.stderr_text)
        self.stop()  # the writer thread drains the queued lines at exit
        with open(first) as f:
            first_lines = f.read().splitlines()
        with open(second) as f:
            second_lines = f.read().splitlines()
        stderr_lines = self.stderr_text().splitlines()
        self.assertEqual(first_lines, second_lines)
        self.assertEqual(first_lines, stderr_lines)
        messages = [json.loads(line)["msg"] for line in first_lines]
        self.assertIn("starting an etcd server", messages)
        self.assertEqual(messages[-1], "stopped; WAL closed", "the last line reaches every output at exit")

    def test_journal_output_needs_a_reachable_journald(self):
        if os.path.exists("/run/systemd/journal/socket"):
            self.skipTest("journald runs here (systemd_container_test covers the journal output)")
        out = subprocess.run([RINGKV, "--data-dir", os.path.join(self.dir, "never"), "--log-outputs",
                              "systemd/journal"], capture_output=True, text=True, timeout=10, env=base_environment())
        self.assertEqual(out.returncode, 1, out.stderr)  # as etcd 3.4: "error verifying flags", exit 1
        self.assertIn("can't find journal (dial unixgram /run/systemd/journal/socket: connect: "
                      "no such file or directory)", out.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "never")))

    def test_every_flag_of_the_installed_etcd_is_known(self):
        etcd_help = subprocess.run(["etcd", "--help"], capture_output=True, text=True, timeout=10)
        etcd_flags = set(re.findall(r"^  --([a-z0-9-]+)", etcd_help.stdout + etcd_help.stderr, re.M))
        self.assertGreater(len(etcd_flags), 70, "cannot read etcd --help")
        ringkv_help = subprocess.run([RINGKV, "--help"], capture_output=True, text=True, timeout=10).stdout
        known = set(re.findall(r"--([a-z0-9-]+)", ringkv_help))
        missing = sorted(etcd_flags - known - CLIENT_TLS_FLAGS)
        self.assertEqual(missing, [], "etcd flags ringkv --help does not list")

    def test_version_names_the_git_revision(self):
        out = subprocess.run([RINGKV, "--version"], capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 0)
        sha = re.search(r"^Git SHA: (\S+)$", out.stdout, re.M)
        self.assertIsNotNone(sha, out.stdout)
        head = subprocess.run(["git", "-C", SOURCE_DIR, "rev-parse", "HEAD"], capture_output=True, text=True)
        if head.returncode == 0:
            self.assertTrue(head.stdout.startswith(sha.group(1).replace("-dirty", "")), (sha.group(1), head.stdout))


if __name__ == "__main__":
    unittest.main(verbosity=2)
