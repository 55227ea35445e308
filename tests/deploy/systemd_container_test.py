"""tests/deploy/systemd_container_test.py - the installed ringkv.service run by a real systemd: a Debian 12
container booted with systemd as PID 1 (podman --systemd=always, runc), holding what `meson install` of
this build puts in place (binary, unit, /etc/default file, sysusers entry) and Debian's systemd package.

What a user relies on:
- `systemctl start ringkv` returns once ringkv sent READY=1, and `systemctl status` shows the unit
  active (running) with ringkv's status text; the member answers /health on 127.0.0.1:2379;
- it runs as the `ringkv` user made by systemd-sysusers, in StateDirectory /var/lib/ringkv;
- `systemctl stop` ends it cleanly (exit 0, STOPPING=1 seen by systemd: the unit goes inactive, not failed);
- with --log-outputs=systemd/journal (ETCD_LOG_OUTPUTS from a drop-in), journald receives structured
  entries over its native protocol (_TRANSPORT=journal, not the unit's stderr stream): MESSAGE is the JSON
  line, PRIORITY follows the level (info 6, warn 4), SYSLOG_IDENTIFIER=ringkv, PACKAGE the caller's folder.
Skipped (exit 77) without podman, without the base image localhost/debian:bookworm (README, "Deploy",
makes it with debootstrap) or for a sanitizer build (the image has no sanitizer runtime). The test image
(localhost/ringkv-systemd-test) is rebuilt from this build each run (apt's layer is cached by podman);
the container is removed at the end.
Arguments: the ringkv binary (a build dependency only) and the build directory.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

BUILD_ROOT = os.path.abspath(sys.argv.pop(2))
sys.argv.pop(1)
BASE_IMAGE = "localhost/debian:bookworm"
IMAGE = "localhost/ringkv-systemd-test:latest"
CONTAINER = "ringkv-systemd-test-%d" % os.getpid()
ACTIVE_TIMEOUT_S = 60
DROP_IN = "/etc/systemd/system/ringkv.service.d"

CONTAINERFILE = """\
FROM %s
RUN apt-get update -qq \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd systemd-sysv \\
      libssl3 libprotobuf32 libnghttp2-14 libxxhash0 liburing2 libyaml-cpp0.7 \\
 && rm -rf /var/lib/apt/lists/*
COPY root/ /
RUN systemd-sysusers && systemctl enable ringkv.service
STOPSIGNAL SIGRTMIN+3
CMD ["/sbin/init"]
""" % BASE_IMAGE


def build_option(options, name):
    return next(o["value"] for o in options if o["name"] == name)


def skip_reason():
    if not shutil.which("podman"):
        return "podman is not installed"
    if subprocess.run(["podman", "image", "exists", BASE_IMAGE]).returncode != 0:
        return "no base image %s (README, Deploy: debootstrap + podman import)" % BASE_IMAGE
    options = json.loads(subprocess.run(["meson", "introspect", "--buildoptions", BUILD_ROOT],
                                        capture_output=True, text=True, check=True).stdout)
    if build_option(options, "b_sanitize") != "none":
        return "a sanitizer build: the image has no sanitizer runtime"
    return None


def podman(*args, check=True, timeout=120):
    out = subprocess.run(["podman"] + list(args), capture_output=True, text=True, timeout=timeout)
    if check and out.returncode != 0:
        raise AssertionError("podman %s: %s%s" % (" ".join(args), out.stdout, out.stderr))
    return out


def in_container(*args, check=True):
    return podman("exec", CONTAINER, *args, check=check, timeout=60)


class SystemdUnit(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.context = tempfile.mkdtemp(prefix="ringkv-systemd-", dir="/var/tmp")
        try:
            out = subprocess.run(["meson", "install", "-C", BUILD_ROOT, "--destdir", os.path.join(cls.context, "root"),
                                  "--no-rebuild", "--quiet"], capture_output=True, text=True, timeout=120)
            assert out.returncode == 0, out.stdout + out.stderr
            with open(os.path.join(cls.context, "Containerfile"), "w") as f:
                f.write(CONTAINERFILE)
            podman("build", "--runtime", "runc", "--ulimit", "nofile=16384:16384", "--ulimit", "nproc=4096:4096",
                   "-t", IMAGE, "-f", os.path.join(cls.context, "Containerfile"), cls.context, timeout=900)
            # This machine lets a container have at most nofile 20000 (and runc needs nproc set with it).
            podman("run", "-d", "--name", CONTAINER, "--runtime", "runc", "--systemd=always",
                   "--ulimit", "nofile=16384:16384", "--ulimit", "nproc=4096:4096", IMAGE)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        podman("rm", "-f", "-t", "10", CONTAINER, check=False)
        shutil.rmtree(cls.context, ignore_errors=True)

    def unit_property(self, name):
        return in_container("systemctl", "show", "-p", name, "--value", "ringkv").stdout.strip()

    def test_unit_is_active_after_ready_and_stops_cleanly(self):
        self.assertEqual(in_container("cat", "/proc/1/comm").stdout.strip(), "systemd")
        deadline = time.time() + ACTIVE_TIMEOUT_S
        while in_container("systemctl", "is-active", "ringkv", check=False).stdout.strip() != "active":
            if time.time() > deadline:
                status = in_container("systemctl", "status", "ringkv", check=False)
                journal = in_container("journalctl", "-u", "ringkv", "--no-pager", check=False)
                raise AssertionError("ringkv.service is not active:\n%s\n%s" % (status.stdout, journal.stdout))
            time.sleep(0.5)
        status = in_container("systemctl", "status", "ringkv", "--no-pager", check=False).stdout
        self.assertIn("Active: active (running)", status)
        self.assertIn("serving client requests", self.unit_property("StatusText"))
        self.assertEqual(self.unit_property("Type"), "notify")
        pid = self.unit_property("MainPID")
        self.assertEqual(in_container("stat", "-c", "%U", "/proc/" + pid).stdout.strip(), "ringkv")
        self.assertEqual(in_container("stat", "-c", "%U", "/var/lib/ringkv").stdout.strip(), "ringkv")
        health = in_container("bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/2379; "
                              "printf 'GET /health HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3").stdout
        self.assertIn('"health":"true"', health)

        in_container("systemctl", "stop", "ringkv")
        self.assertEqual(in_container("systemctl", "is-active", "ringkv", check=False).stdout.strip(), "inactive")
        self.assertEqual(self.unit_property("ExecMainStatus"), "0")
        journal = in_container("journalctl", "-u", "ringkv", "--no-pager").stdout
        self.assertIn("stopped; WAL closed", journal)

    def wait_active(self):
        deadline = time.time() + ACTIVE_TIMEOUT_S
        while in_container("systemctl", "is-active", "ringkv", check=False).stdout.strip() != "active":
            if time.time() > deadline:
                journal = in_container("journalctl", "-u", "ringkv", "--no-pager", check=False)
                raise AssertionError("ringkv.service is not active:\n%s" % journal.stdout)
            time.sleep(0.5)

    def test_log_outputs_systemd_journal(self):
        self.wait_active()  # systemd has booted (the bus answers) and started the unit as installed
        # A drop-in sets the ETCD_* variables; --max-wals has no effect in ringkv: its warning is a warn entry.
        in_container("bash", "-c", "mkdir -p %s && printf '[Service]\\nEnvironment=ETCD_LOG_OUTPUTS=systemd/journal "
                     "ETCD_MAX_WALS=5\\n' > %s/journal.conf && systemctl daemon-reload" % (DROP_IN, DROP_IN))
        try:
            in_container("systemctl", "restart", "ringkv")
            self.wait_active()
            pid = self.unit_property("MainPID")
            entries = [json.loads(line) for line in
                       in_container("journalctl", "_PID=" + pid, "-o", "json", "--no-pager").stdout.splitlines()]
            native = [e for e in entries if e.get("_TRANSPORT") == "journal"]
            self.assertTrue(native, "no native-protocol entry from ringkv: %s" % entries[:5])
            self.assertEqual([e for e in entries if e.get("_TRANSPORT") == "stdout"], [],
                             "with systemd/journal alone, nothing goes to the unit's stderr stream")
            by_msg = {json.loads(e["MESSAGE"])["msg"]: e for e in native}
            starting = by_msg["starting an etcd server"]
            self.assertEqual(starting["PRIORITY"], "6")
            self.assertEqual(starting["SYSLOG_IDENTIFIER"], "ringkv")
            self.assertEqual(starting["PACKAGE"], "server/process")
            self.assertEqual(json.loads(starting["MESSAGE"])["level"], "info")
            warned = [e for e in native if json.loads(e["MESSAGE"])["level"] == "warn"]
            self.assertTrue(warned, "the --max-wals warning")
            self.assertTrue(all(e["PRIORITY"] == "4" for e in warned))
            warnings_only = in_container("journalctl", "_PID=" + pid, "-p", "warning", "-o", "json",
                                         "--no-pager").stdout.splitlines()
            self.assertEqual(sorted(json.loads(line)["MESSAGE"] for line in warnings_only),
                             sorted(e["MESSAGE"] for e in warned), "journalctl -p warning: the warnings")
        finally:
            in_container("bash", "-c", "rm -r %s && systemctl daemon-reload" % DROP_IN)
            in_container("systemctl", "restart", "ringkv")
            self.wait_active()


if __name__ == "__main__":
    reason = skip_reason()
    if reason:
        print("skipped: " + reason)
        sys.exit(77)
    unittest.main()
