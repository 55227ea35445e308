"""tests/deploy/container_test.py - the ringkv image (deploy/Containerfile, tagged localhost/ringkv:latest)
run as deploy/compose.yaml describes it, with podman. Skipped (exit 77) without podman, the image or
python3-yaml: build the image first (README, "Deploy").

Each service of compose.yaml becomes one `podman run` with the service's environment, address, port,
volume, seccomp profile and ulimits (Debian 12's podman-compose 1.0.3 cannot give a container a fixed
address on a network, which the members' peer URLs need). What a user relies on:
- the 3 members form one cluster with one leader, and etcdctl on the host reaches each member's port;
- with deploy/seccomp-io_uring.json every member runs on io_uring;
- a member restarted (SIGTERM, then start) keeps its data: every key is read back from it;
- under podman's default seccomp profile, which refuses io_uring, the image falls back to epoll and serves.
Every container, volume and network the test makes is removed at the end.
"""
import json
import os
import shutil
import subprocess
import sys
import time
import unittest

DEPLOY_DIR = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy"))
IMAGE = "localhost/ringkv:latest"
PROJECT = "ringkvtest%d" % os.getpid()
DEFAULT_PROFILE_PORT = 12374  # the single member under the default seccomp profile
START_TIMEOUT_S = 60


def podman(*args, check=True, timeout=120):
    out = subprocess.run(["podman"] + list(args), capture_output=True, text=True, timeout=timeout)
    if check and out.returncode != 0:
        raise AssertionError("podman %s failed: %s" % (" ".join(args), out.stderr))
    return out


def etcdctl(endpoints, *args):
    return subprocess.run(["etcdctl", "--endpoints", ",".join(endpoints)] + list(args), capture_output=True,
                          text=True, timeout=30, env=dict(os.environ, ETCDCTL_API="3"))


def skip_reason():
    if not shutil.which("podman"):
        return "podman is not installed"
    if subprocess.run(["podman", "image", "exists", IMAGE]).returncode != 0:
        return "no image %s (podman build -f deploy/Containerfile -t ringkv .)" % IMAGE
    try:
        import yaml  # noqa: F401
    except ImportError:
        return "python3-yaml is not installed"
    return None


class Compose(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import yaml
        with open(os.path.join(DEPLOY_DIR, "compose.yaml")) as f:
            cls.compose = yaml.safe_load(f)
        cls.containers, cls.volumes, cls.networks = [], [], []

    @classmethod
    def tearDownClass(cls):
        for name in cls.containers:
            podman("rm", "-f", "-v", "-t", "15", name, check=False)  # -v: the image's anonymous volume too
        for name in cls.volumes:
            podman("volume", "rm", "-f", name, check=False)
        for name in cls.networks:
            podman("network", "rm", "-f", name, check=False)

    def run_service(self, service_name, service):
        """`podman run -d` of one compose service; returns (container name, host client endpoint)."""
        name = "%s_%s" % (PROJECT, service_name)
        args = ["run", "-d", "--name", name, "--hostname", service.get("hostname", service_name)]
        for network, settings in (service.get("networks") or {}).items():
            args += ["--network", "%s_%s" % (PROJECT, network), "--ip", settings["ipv4_address"]]
        for option in service.get("security_opt", []):
            key, _, value = option.partition("=")
            args += ["--security-opt", "%s=%s" % (key, os.path.join(DEPLOY_DIR, value) if key == "seccomp" else value)]
        for limit, value in (service.get("ulimits") or {}).items():
            args += ["--ulimit", "%s=%s:%s" % (limit, value, value)]
        for key, value in service.get("environment", {}).items():
            args += ["-e", "%s=%s" % (key, value)]
        for port in service.get("ports", []):
            args += ["-p", port]
        for volume in service.get("volumes", []):
            source, _, target = volume.partition(":")
            self.volumes.append("%s_%s" % (PROJECT, source))
            args += ["-v", "%s_%s:%s" % (PROJECT, source, target)]
        podman(*(args + [service["image"]]))
        self.containers.append(name)
        host_port = service["ports"][0].rsplit(":", 1)[0]  # "127.0.0.1:12371"
        return name, host_port

    def wait_for(self, what, predicate, timeout_s=START_TIMEOUT_S):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.5)
        self.fail("timed out waiting for " + what)

    def logs(self, name):
        out = podman("logs", name, check=False)
        return out.stdout + out.stderr

    def test_three_members_restart_and_default_seccomp(self):
        for network, settings in (self.compose.get("networks") or {}).items():
            subnet = settings["ipam"]["config"][0]["subnet"]
            podman("network", "create", "--subnet", subnet, "%s_%s" % (PROJECT, network))
            self.networks.append("%s_%s" % (PROJECT, network))
        members = {}
        for service_name, service in self.compose["services"].items():
            members[service_name] = self.run_service(service_name, service)
        endpoints = [endpoint for _, endpoint in members.values()]

        def cluster_formed():
            listed = etcdctl(endpoints, "member", "list", "-w", "json")
            return listed.returncode == 0 and len(json.loads(listed.stdout).get("members", [])) == 3 and \
                etcdctl(endpoints, "endpoint", "health").returncode == 0
        self.wait_for("3 healthy members", cluster_formed)
        status = json.loads(etcdctl(endpoints, "endpoint", "status", "-w", "json").stdout)
        leaders = {s["Status"]["leader"] for s in status}
        self.assertEqual(len(status), 3)
        self.assertEqual(len(leaders), 1, status)
        for name, _ in members.values():
            self.assertIn('"io-backend":"uring"', self.logs(name), "the io_uring profile lets io_uring run")
            self.assertEqual(podman("exec", name, "id", "-un").stdout.strip(), "ringkv")

        for i in range(20):
            self.assertEqual(etcdctl(endpoints, "put", "key%02d" % i, "value%02d" % i).returncode, 0)
        restarted, restarted_endpoint = members["ringkv2"]
        podman("restart", "-t", "15", restarted)
        self.wait_for("the restarted member to serve",
                      lambda: etcdctl([restarted_endpoint], "endpoint", "health").returncode == 0)
        got = etcdctl([restarted_endpoint], "get", "--prefix", "key", "--consistency=s", "-w", "json")
        self.assertEqual(got.returncode, 0, got.stderr)
        self.assertEqual(len(json.loads(got.stdout).get("kvs", [])), 20, "the restarted member lost keys")
        log = self.logs(restarted)
        self.assertIn("stopped; WAL closed", log)
        self.assertEqual(log.count('"msg":"opened WAL"'), 2)

        # One member under podman's default profile (no security_opt): io_uring refused, epoll serves.
        single = "%s_default_seccomp" % PROJECT
        podman("run", "-d", "--name", single, "--ulimit", "nofile=16384:16384", "--ulimit", "nproc=4096:4096",
               "-p", "127.0.0.1:%d:2379" % DEFAULT_PROFILE_PORT, IMAGE)
        self.containers.append(single)
        endpoint = "127.0.0.1:%d" % DEFAULT_PROFILE_PORT
        self.wait_for("the default-profile member", lambda: etcdctl([endpoint], "put", "k", "v").returncode == 0)
        log = self.logs(single)
        self.assertIn("io_uring unavailable, using the epoll backend", log)
        self.assertIn('"io-backend":"epoll"', log)


if __name__ == "__main__":
    reason = skip_reason()
    if reason:
        print("skipped: " + reason)
        sys.exit(77)
    unittest.main(verbosity=2)
