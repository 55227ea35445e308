"""tests/discovery/discovery_url_test.py - `ringkv --discovery URL` against a real discovery service: Debian's
etcd-discovery (discovery.etcd.io's server) in front of a real etcd 3.4 --enable-v2 as its store, everything
on 127.0.0.1.

What a user relies on:
- a token made with /new?size=3, and 3 members started with only --discovery (no --initial-cluster) form
  one cluster: one leader, a write through one member is read from the others, `etcdctl member list`
  names all three with their peer and client URLs;
- each member registered under the id the cluster gives it (the token's keys are the member list's ids);
- one member reaches the service through an HTTP proxy (--discovery-proxy, tinyproxy);
- a 4th member with the same URL gets "discovery: cluster is full" and exits 1, with the default
  --discovery-fallback (proxy: etcd 3.4's v2 proxy, not built, said so in the log) and with exit;
- a restarted member does not run discovery again (its data dir holds a member) and keeps its data;
- a token whose size key is missing fails with "discovery: size key not found";
- an https:// discovery URL (etcd 3.4 serving the v2 keys API itself over TLS, its certificate trusted
  through SSL_CERT_FILE as Go's client trusts it) forms a cluster too; without the CA the member logs the
  certificate error and retries.
Every process is stopped by PID; data dirs are removed.
"""
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from child_process import Process, ProcessGroup  # noqa: E402
from ringkv_process import RINGKV, free_port  # noqa: E402

DISCOVERY_SERVER = "/usr/bin/discovery.etcd.io"  # Debian's etcd-discovery
START_TIMEOUT_S = 40


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read().decode()


def wait_until(predicate, timeout_s, what):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


class Member:
    def __init__(self, name, workdir, discovery_url, extra=(), env=None):
        self.name = name
        self.env = env
        self.client_port, self.peer_port = free_port(), free_port()
        self.data_dir = os.path.join(workdir, name + ".data")
        self.workdir = workdir
        self.args = [RINGKV, "--name", name, "--data-dir", self.data_dir, "--shards", "1",
                     "--listen-client-urls", self.client_url, "--advertise-client-urls", self.client_url,
                     "--listen-peer-urls", self.peer_url, "--initial-advertise-peer-urls", self.peer_url,
                     "--discovery", discovery_url] + list(extra)
        self.process = None

    @property
    def client_url(self):
        return "http://127.0.0.1:%d" % self.client_port

    @property
    def peer_url(self):
        return "http://127.0.0.1:%d" % self.peer_port

    def start(self):
        self.process = Process(self.name, self.args, self.workdir, self.env)
        return self

    def healthy(self):
        if self.process.proc.poll() is not None:
            raise AssertionError("%s exited with %d:\n%s" % (self.name, self.process.proc.returncode, self.process.text()))
        return json.loads(http_get(self.client_url + "/health")).get("health") == "true"

    def etcdctl(self, *args):
        out = subprocess.run(["etcdctl", "--endpoints", self.client_url] + list(args), capture_output=True, text=True,
                             timeout=20, env=dict(os.environ, ETCDCTL_API="3"))
        if out.returncode != 0:
            raise AssertionError("etcdctl %s: %s%s" % (" ".join(args), out.stdout, out.stderr))
        return out.stdout


class DiscoveryUrl(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in (DISCOVERY_SERVER, shutil.which("etcd"), shutil.which("tinyproxy")):
            if not tool or not os.path.exists(tool):
                raise unittest.SkipTest("needs etcd-discovery, etcd-server and tinyproxy (scripts/deps.sh)")
        cls.dir = tempfile.mkdtemp(prefix="ringkv-discovery-", dir="/tmp")
        cls.group = ProcessGroup(cls.dir)
        # The discovery service's store: etcd 3.4 with the v2 API.
        etcd_client, etcd_peer = free_port(), free_port()
        cls.etcd_url = "http://127.0.0.1:%d" % etcd_client
        cls.group.spawn("etcd", ["etcd", "--enable-v2", "--name", "store", "--data-dir", os.path.join(cls.dir, "store"),
                           "--listen-client-urls", cls.etcd_url, "--advertise-client-urls", cls.etcd_url,
                           "--listen-peer-urls", "http://127.0.0.1:%d" % etcd_peer,
                           "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % etcd_peer,
                           "--initial-cluster", "store=http://127.0.0.1:%d" % etcd_peer])
        wait_until(lambda: json.loads(http_get(cls.etcd_url + "/health"))["health"] == "true", 30, "etcd")
        service_port = free_port()
        cls.service = "http://127.0.0.1:%d" % service_port
        cls.group.spawn("discovery", [DISCOVERY_SERVER, "--addr", "127.0.0.1:%d" % service_port, "--etcd", cls.etcd_url,
                                "--host", cls.service])
        wait_until(lambda: http_get(cls.service + "/health") is not None, 30, "etcd-discovery")
        # An HTTP proxy for --discovery-proxy.
        cls.proxy_port = free_port()
        conf = os.path.join(cls.dir, "tinyproxy.conf")
        with open(conf, "w") as f:
            f.write("Port %d\nListen 127.0.0.1\nAllow 127.0.0.1\nTimeout 600\nMaxClients 20\nLogLevel Info\n"
                    "LogFile \"%s\"\n" % (cls.proxy_port, os.path.join(cls.dir, "tinyproxy-own.log")))
        cls.group.spawn("tinyproxy", ["tinyproxy", "-d", "-c", conf])
        wait_until(lambda: os.path.exists(os.path.join(cls.dir, "tinyproxy-own.log")), 10, "tinyproxy")

    @classmethod
    def tearDownClass(cls):
        cls.group.stop_all()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def new_token(self, size):
        url = http_get("%s/new?size=%d" % (self.service, size)).strip()
        self.assertTrue(url.startswith(self.service + "/"), url)
        return url

    def start_members(self, url, count, extra_for=None, env=None, prefix="m"):
        members = [Member("%s%d" % (prefix, i + 1), self.dir, url, (extra_for or {}).get(i, ()), env)
                   for i in range(count)]
        for member in members:
            member.start()
        self.addCleanup(self.stop_members, members)
        return members

    def stop_members(self, members):
        for member in members:
            if member.process and not member.process.log.closed:
                running = member.process.proc.poll() is None
                code = member.process.stop()
                if running and code != 0:
                    sys.stderr.write("%s exited %d on SIGTERM:\n%s\n" % (member.name, code, member.process.text()))

    def registered_ids(self, url):
        token = url.rsplit("/", 1)[1]
        answer = json.loads(http_get("%s/v2/keys/_etcd/registry/%s" % (self.etcd_url, token)))
        return {os.path.basename(n["key"]): n.get("value") for n in answer["node"].get("nodes", [])
                if not n["key"].endswith("/_config")}

    def test_three_members_form_one_cluster_and_a_fourth_is_refused(self):
        url = self.new_token(3)
        proxy = ("--discovery-proxy", "127.0.0.1:%d" % self.proxy_port)
        members = self.start_members(url, 3, {2: proxy})
        for member in members:
            wait_until(member.healthy, START_TIMEOUT_S, member.name + " healthy")

        members[0].etcdctl("put", "discovered", "yes")
        for member in members:
            self.assertEqual(member.etcdctl("get", "discovered", "--print-value-only").strip(), "yes")
        def published():  # each member publishes its name and client URLs once it has a leader
            listed = json.loads(members[1].etcdctl("member", "list", "-w", "json"))["members"]
            return sorted(m.get("name", "") for m in listed if m.get("clientURLs"))
        wait_until(lambda: published() == ["m1", "m2", "m3"], 20, "every member published")
        listed = json.loads(members[1].etcdctl("member", "list", "-w", "json"))["members"]
        for m in listed:
            member = next(x for x in members if x.name == m["name"])
            self.assertEqual(m["peerURLs"], [member.peer_url])
            self.assertEqual(m["clientURLs"], [member.client_url])
        # Registered under the ids the cluster uses; the value is etcd's "name=peerurl".
        registered = self.registered_ids(url)
        self.assertEqual(sorted(registered), sorted("%x" % m["ID"] for m in listed))
        self.assertEqual(sorted(registered.values()), sorted("%s=%s" % (m.name, m.peer_url) for m in members))
        self.assertIn("running proxy with discovery", members[2].process.text())
        with open(os.path.join(self.dir, "tinyproxy-own.log")) as f:
            self.assertIn(url.rsplit("/", 1)[1], f.read())  # m3's requests went through the proxy

        # A 4th member: the token is full. Default fallback (proxy) and exit both end the start.
        for name, extra in (("m4", ()), ("m5", ("--discovery-fallback", "exit"))):
            late = Member(name, self.dir, url, extra).start()
            self.addCleanup(self.stop_members, [late])
            code = late.process.proc.wait(30)
            text = late.process.text()
            self.assertEqual(code, 1, text)
            self.assertIn("discovery: cluster is full", text)
            self.assertIn("do not reuse discovery token", text)
            self.assertEqual("v2 proxy" in text, not extra, text)
            self.assertEqual(len(self.registered_ids(url)), 3)  # the late member registered nothing
            shutil.rmtree(late.data_dir, ignore_errors=True)

        # A restart keeps the member and its data and asks the service nothing.
        members[1].process.stop()
        members[1].start()
        wait_until(members[1].healthy, START_TIMEOUT_S, "m2 restarted")
        self.assertIn("discovery token is ignored since cluster already initialized", members[1].process.text())
        self.assertEqual(members[1].etcdctl("get", "discovered", "--print-value-only").strip(), "yes")
        self.assertEqual(len(json.loads(members[1].etcdctl("member", "list", "-w", "json"))["members"]), 3)

    def test_https_discovery_url(self):
        cert, key = os.path.join(self.dir, "cert.pem"), os.path.join(self.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=discovery test",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        tls_port, tls_peer = free_port(), free_port()
        store = "https://127.0.0.1:%d" % tls_port
        self.group.spawn("tls-store", [
            "etcd", "--enable-v2", "--name", "tls", "--data-dir", os.path.join(self.dir, "tls-store"),
            "--cert-file", cert, "--key-file", key, "--listen-client-urls", store, "--advertise-client-urls", store,
            "--listen-peer-urls", "http://127.0.0.1:%d" % tls_peer,
            "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % tls_peer,
            "--initial-cluster", "tls=http://127.0.0.1:%d" % tls_peer])
        context = ssl.create_default_context(cafile=cert)
        url = store + "/v2/keys/discovery/tls-token"

        def make_token():
            request = urllib.request.Request(url + "/_config/size", data=b"value=3", method="PUT")
            with urllib.request.urlopen(request, timeout=5, context=context) as response:
                return response.status in (200, 201)
        wait_until(make_token, 30, "etcd over TLS")
        # Without the CA the certificate is refused (and retried, as etcd retries), nothing registered.
        untrusted = Member("untrusted", self.dir, url).start()
        self.addCleanup(self.stop_members, [untrusted])
        wait_until(lambda: "failed: certificate: self-signed certificate" in untrusted.process.text(), 20, "the certificate refused")
        untrusted.process.stop()
        proxy = ("--discovery-proxy", "http://127.0.0.1:%d" % self.proxy_port)  # https: a CONNECT tunnel
        members = self.start_members(url, 3, {1: proxy}, env=dict(os.environ, SSL_CERT_FILE=cert), prefix="t")
        for member in members:
            wait_until(member.healthy, START_TIMEOUT_S, member.name + " healthy")
        members[0].etcdctl("put", "over", "tls")
        self.assertEqual(members[2].etcdctl("get", "over", "--print-value-only").strip(), "tls")
        listed = json.loads(members[1].etcdctl("member", "list", "-w", "json"))["members"]
        self.assertEqual(len(listed), 3)
        with open(os.path.join(self.dir, "tinyproxy-own.log")) as f:
            self.assertIn("CONNECT 127.0.0.1:%d" % tls_port, f.read())

    def test_a_token_without_size_fails(self):
        token_url = self.service + "/" + "0123456789abcdef0123456789abcdef"
        member = Member("lonely", self.dir, token_url).start()
        self.addCleanup(self.stop_members, [member])
        code = member.process.proc.wait(30)
        self.assertEqual(code, 1, member.process.text())
        self.assertIn("discovery: size key not found", member.process.text())


if __name__ == "__main__":
    missing = [tool for tool in (DISCOVERY_SERVER, "/usr/bin/etcd", "/usr/bin/tinyproxy") if not os.path.exists(tool)]
    if missing:
        print("skipped: missing %s (scripts/deps.sh installs etcd-discovery, etcd-server, tinyproxy-bin)" % missing)
        sys.exit(77)
    unittest.main()
