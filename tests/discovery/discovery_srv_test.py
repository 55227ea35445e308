"""tests/discovery/discovery_srv_test.py - `ringkv --discovery-srv DOMAIN` against real DNS: dnsmasq serving SRV
and A records on 127.0.0.1:53 inside a network namespace this test creates (`ip netns add`), whose
/etc/resolv.conf (`ip netns exec` bind-mounts /etc/netns/<ns>/resolv.conf over it) names that dnsmasq.
ringkv reads it through libresolv like any program: nothing in ringkv knows about the test.

What a user relies on:
- 3 members started with only --discovery-srv (no --initial-cluster) find each other through
  _etcd-server._tcp.<domain>, form one cluster, serve etcdctl, and `member list` names all three;
- with --discovery-srv-name blue they use _etcd-server-blue._tcp.<domain> instead (another cluster);
- a member whose advertised peer URL is in no record refuses to start ("cannot find local etcd member");
- a domain without records refuses to start.
Needs root (network namespaces) and dnsmasq; skipped (exit 77) otherwise. Every process is stopped by
PID; the namespace and its /etc/netns folder are removed.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from child_process import ProcessGroup  # noqa: E402
from ringkv_process import RINGKV  # noqa: E402

DOMAIN = "ringkv.test"
START_TIMEOUT_S = 40
# In the namespace every address and port is ours: member N of a cluster listens on 127.0.0.<base+N>.
CLUSTERS = {"": 10, "blue": 20}


def skip_reason():
    if os.geteuid() != 0:
        return "needs root to create a network namespace"
    if not shutil.which("dnsmasq") or not shutil.which("ip"):
        return "needs dnsmasq (dnsmasq-base) and iproute2"
    return None


class Namespace:
    def __init__(self, name):
        self.name = name
        self.etc = os.path.join("/etc/netns", name)
        out = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
        if out.returncode != 0:
            raise unittest.SkipTest("ip netns add is not permitted here: " + out.stderr.strip())
        os.makedirs(self.etc, exist_ok=True)
        with open(os.path.join(self.etc, "resolv.conf"), "w") as f:
            f.write("nameserver 127.0.0.1\noptions timeout:1 attempts:2\n")
        self.run(["ip", "link", "set", "lo", "up"])

    def command(self, args):
        return ["ip", "netns", "exec", self.name] + list(args)  # exec: the child keeps the PID

    def run(self, args, check=True, timeout=30):
        out = subprocess.run(self.command(args), capture_output=True, text=True, timeout=timeout)
        if check and out.returncode != 0:
            raise AssertionError("%s: %s%s" % (" ".join(args), out.stdout, out.stderr))
        return out

    def delete(self):
        subprocess.run(["ip", "netns", "delete", self.name], capture_output=True)
        shutil.rmtree(self.etc, ignore_errors=True)


class DiscoverySrv(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        reason = skip_reason()
        if reason:
            raise unittest.SkipTest(reason)
        cls.dir = tempfile.mkdtemp(prefix="ringkv-srv-", dir="/tmp")
        cls.ns = Namespace("ringkv-srv-%d" % os.getpid())
        cls.group = ProcessGroup(cls.dir)
        try:
            records = []
            for suffix, base in CLUSTERS.items():
                service = "_etcd-server%s._tcp.%s" % ("-" + suffix if suffix else "", DOMAIN)
                for n in (1, 2, 3):
                    host = "m%d%s.%s" % (n, suffix, DOMAIN)
                    records += ["--host-record=%s,127.0.0.%d" % (host, base + n),
                                "--srv-host=%s,%s,2380,0,10" % (service, host)]
            # A member of no cluster's records, for the refusal.
            records.append("--host-record=stray.%s,127.0.0.99" % DOMAIN)
            cls.dnsmasq = cls.group.spawn("dnsmasq", cls.ns.command(
                ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                 "--user=root", "--listen-address=127.0.0.1", "--bind-interfaces", "--port=53",
                 "--pid-file=", "--log-queries", "--log-facility=-"] + records))
            deadline = time.time() + 10
            while cls.ns.run(["getent", "hosts", "m1." + DOMAIN], check=False).returncode != 0:
                if time.time() > deadline:
                    raise AssertionError("dnsmasq does not answer:\n" + cls.dnsmasq.text())
                time.sleep(0.1)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.group.stop_all()
        cls.ns.delete()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def member_args(self, name, address, extra=()):
        client, peer = "http://%s:2379" % address, "http://%s:2380" % address
        return [RINGKV, "--name", name, "--data-dir", os.path.join(self.dir, name + ".data"), "--shards", "1",
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--discovery-srv", DOMAIN] + list(extra)

    def etcdctl(self, address, *args):
        out = self.ns.run(["env", "ETCDCTL_API=3", "etcdctl", "--endpoints", "http://%s:2379" % address] + list(args))
        return out.stdout

    def healthy(self, process, address):
        if process.proc.poll() is not None:
            raise AssertionError("member exited with %d:\n%s" % (process.proc.returncode, process.text()))
        out = self.ns.run(["etcdctl", "--endpoints", "http://%s:2379" % address, "endpoint", "health"], check=False,
                          timeout=10)
        return out.returncode == 0

    def form_cluster(self, suffix):
        base = CLUSTERS[suffix]
        extra = ("--discovery-srv-name", suffix) if suffix else ()
        members = []
        for n in (1, 2, 3):
            name = "m%d%s" % (n, suffix)
            members.append((self.group.spawn(name, self.ns.command(self.member_args(name, "127.0.0.%d" % (base + n), extra))),
                            "127.0.0.%d" % (base + n)))
        for process, address in members:
            deadline = time.time() + START_TIMEOUT_S
            while not self.healthy(process, address):
                if time.time() > deadline:
                    raise AssertionError("member at %s not healthy:\n%s" % (address, process.text()))
                time.sleep(0.2)
        first = members[0][1]
        self.etcdctl(first, "put", "srv" + suffix, "found")
        for _, address in members:
            self.assertEqual(self.etcdctl(address, "get", "srv" + suffix, "--print-value-only").strip(), "found")
        expected = ["m1" + suffix, "m2" + suffix, "m3" + suffix]
        deadline = time.time() + 20  # each member publishes its name once it has a leader
        while True:
            listed = json.loads(self.etcdctl(members[2][1], "member", "list", "-w", "json"))["members"]
            if sorted(m.get("name", "") for m in listed if m.get("clientURLs")) == expected or time.time() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(sorted(m.get("name", "") for m in listed), expected)
        self.assertEqual(sorted(u for m in listed for u in m["peerURLs"]),
                         ["http://127.0.0.%d:2380" % (base + n) for n in (1, 2, 3)])
        self.assertIn("got bootstrap from DNS for etcd-server", members[0][0].text())
        for process, _ in members:
            self.assertEqual(process.stop(), 0, process.text())

    def test_three_members_form_a_cluster_from_srv_records(self):
        self.form_cluster("")

    def test_discovery_srv_name_picks_the_suffixed_service(self):
        self.form_cluster("blue")

    def test_a_member_in_no_record_and_a_domain_without_records_refuse_to_start(self):
        stray = self.group.spawn("stray", self.ns.command(self.member_args("stray", "127.0.0.99")))
        self.assertEqual(stray.proc.wait(30), 1, stray.text())
        self.assertIn('cannot find local etcd member \\"stray\\" in SRV records', stray.text())
        args = self.member_args("nodomain", "127.0.0.98")
        args[args.index(DOMAIN)] = "nothing." + DOMAIN
        nothing = self.group.spawn("nodomain", self.ns.command(args))
        self.assertEqual(nothing.proc.wait(30), 1, nothing.text())
        self.assertIn("error querying DNS SRV records for _etcd-server ", nothing.text())


if __name__ == "__main__":
    if skip_reason():
        print("skipped: " + skip_reason())
        sys.exit(77)
    unittest.main()
