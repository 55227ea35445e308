"""tests/cluster/peer_tls_test.py - three real `ringkv` members with TLS on the peer and client ports,
certificates made by the openssl CLI for this run (tests/server/tls_test.py's helpers).

What a user relies on:
- members with --peer-cert-file/--peer-key-file/--peer-trusted-ca-file/--peer-client-cert-auth and
  --peer-cert-allowed-cn on https:// peer URLs form one cluster; etcdctl (--cacert/--cert/--key) writes
  through a follower and reads on every member;
- kill -9 of the leader under writes: a new leader serves, and after the old one restarts every
  acknowledged write is on every member (cluster_test.py's kill_leader_under_writes, over TLS);
- a member whose peer certificate (same CA) has a CN other than --peer-cert-allowed-cn cannot join:
  the others log "rejected connection ... CommonName authentication failed", keep one leader and its
  term, and it never receives the cluster's data; the same for a certificate whose IP SANs do not list
  the address it connects from (etcd 3.4's checkSAN);
- a plaintext connection to a TLS peer port is refused (no byte of it is taken as a frame) and logged;
- `member add` with an https peer URL, then the new member started with --initial-cluster-state
  existing asks the others for the member list over TLS, joins and catches up;
- a member's peer certificate files replaced while it runs: a new connection to its peer port gets the
  new certificate (openssl s_client), and the cluster goes on serving;
- --peer-auto-tls: self-signed peer certificates, not verified (as etcd), and the cluster forms.
Every process is stopped by PID; the certificates and data dirs are removed.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import unittest

import etcd3

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "server"))
import ringkv_process  # noqa: E402
from cluster_test import ELECTION_MS, HEARTBEAT_MS, Cluster, Member, kill_leader_under_writes  # noqa: E402
from membership_test import wait_for, wait_reconfig_ready  # noqa: E402
from ringkv_process import free_port, log_entries  # noqa: E402
from tls_test import WithPki, make_base_pki, make_key_and_csr, sign  # noqa: E402

MEMBER_EXT = "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n"
ALLOWED_CN = "member"


def make_cluster_pki():
    pki = make_base_pki("ringkv-peer-tls-", "/CN=ringkv-peer-test-ca")
    make_key_and_csr(pki, "member", "/CN=" + ALLOWED_CN)
    sign(pki, "member", "ca", MEMBER_EXT)
    make_key_and_csr(pki, "intruder", "/CN=intruder")  # the same CA, another CN
    sign(pki, "intruder", "ca", MEMBER_EXT)
    make_key_and_csr(pki, "elsewhere", "/CN=" + ALLOWED_CN)  # the right CN, for another address
    sign(pki, "elsewhere", "ca", "subjectAltName=IP:127.0.0.9\nextendedKeyUsage=serverAuth,clientAuth\n")
    make_key_and_csr(pki, "member-renewed", "/CN=" + ALLOWED_CN)  # what a rotation puts in place
    sign(pki, "member-renewed", "ca", MEMBER_EXT)
    return pki


class TlsMember(Member):
    """A member on https client and peer URLs; `peer_cert` names its peer key pair in the PKI."""

    def __init__(self, name, token, extra_args=(), pki=None, peer_cert="member", peer_auto_tls=False):
        super().__init__(name, token, extra_args)
        self.pki = pki
        self.peer_cert = peer_cert
        self.peer_auto_tls = peer_auto_tls  # --peer-auto-tls instead of the peer key pair and CA
        self.state = "new"

    def path(self, name):
        return os.path.join(self.pki, name)

    @property
    def peer_url(self):
        return "https://127.0.0.1:%d" % self.peer_port

    @property
    def client_url(self):
        return "https://127.0.0.1:%d" % self.port

    def tls_flags(self):
        p = self.path
        client = ["--cert-file", p("server.crt"), "--key-file", p("server.key"), "--trusted-ca-file", p("ca.crt"),
                  "--client-cert-auth"]
        if self.peer_auto_tls:
            return client + ["--peer-auto-tls"]
        return client + [
                "--peer-cert-file", p(self.peer_cert + ".crt"), "--peer-key-file", p(self.peer_cert + ".key"),
                "--peer-trusted-ca-file", p("ca.crt"), "--peer-client-cert-auth",
                "--peer-cert-allowed-cn", ALLOWED_CN]

    def launch(self):
        args = [ringkv_process.RINGKV, "--name", self.name, "--data-dir", self.data_dir,
                "--listen-client-urls", self.client_url, "--advertise-client-urls", self.client_url,
                "--listen-peer-urls", "https://127.0.0.1:%d" % self.listen_peer_port,
                "--initial-advertise-peer-urls", self.peer_url,
                "--initial-cluster", self.initial_cluster, "--initial-cluster-token", self.token,
                "--initial-cluster-state", self.state,
                "--heartbeat-interval", str(HEARTBEAT_MS), "--election-timeout", str(ELECTION_MS)]
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args + self.tls_flags() + self.extra_args, stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def client_tls(self):
        return ["--cacert", self.path("ca.crt"), "--cert", self.path("client.crt"), "--key", self.path("client.key")]

    def etcdctl(self, *args, input=None, check=True, timeout=20):
        env = dict(os.environ, ETCDCTL_API="3")
        command = ["etcdctl", "--endpoints", self.client_url] + self.client_tls() + list(args)
        result = subprocess.run(command, input=input, capture_output=True, text=True, env=env, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError("etcdctl %s failed (%d): %s%s" % (" ".join(args), result.returncode,
                                                                   result.stdout, result.stderr))
        return result

    def client(self, timeout):
        return etcd3.client(host="127.0.0.1", port=self.client_port, ca_cert=self.path("ca.crt"),
                            cert_key=self.path("client.key"), cert_cert=self.path("client.crt"), timeout=timeout)

    def log_entries(self, message):
        return log_entries(self.log_text(), message)


def leader_among(members, timeout_s=20):
    """(leader id, term) that every one of `members` reports, or (None, None) after the timeout."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        statuses = [m.status() for m in members]
        if all(statuses):
            leaders = {s.get("leader", 0) for s in statuses}
            terms = {s.get("raftTerm", 0) for s in statuses}
            if len(leaders) == 1 and 0 not in leaders and len(terms) == 1:
                return leaders.pop(), terms.pop()
        time.sleep(0.1)
    return None, None


class PeerTls(WithPki):
    make_pki = staticmethod(make_cluster_pki)

    def cluster(self, peer_certs=("member", "member", "member"), peer_auto_tls=False):
        certs = list(peer_certs)
        pki = self.pki

        def member(name, token, extra_args):
            return TlsMember(name, token, extra_args, pki=pki, peer_cert=certs[int(name[1:]) - 1],
                             peer_auto_tls=peer_auto_tls)

        cluster = Cluster(size=len(certs), member=member)
        self.addCleanup(cluster.cleanup)
        return cluster.start()

    def test_cluster_over_tls_serves_and_survives_leader_kill_9(self):
        cluster = self.cluster()
        leader = cluster.agreed_leader()
        self.assertIsNotNone(leader, "no agreed leader over peer TLS; logs:\n" +
                             "\n".join(m.log_text()[-3000:] for m in cluster.members))
        for m in cluster.members:
            started = m.log_entries("starting with peer TLS")
            self.assertTrue(started, m.name)
            self.assertIn("client-cert-auth = true", started[0]["tls-info"])
        members = json.loads(leader.etcdctl("member", "list", "-w", "json").stdout)["members"]
        self.assertEqual(sorted(m["peerURLs"][0] for m in members), sorted(m.peer_url for m in cluster.members))
        follower = next(m for m in cluster.members if m is not leader)
        follower.etcdctl("put", "over", "tls")  # forwarded to the leader over the TLS peer connection
        for m in cluster.members:
            self.assertEqual(m.etcdctl("get", "over", "--print-value-only").stdout.strip(), "tls", m.name)
        kill_leader_under_writes(self, cluster)

    def check_refused_member(self, peer_cert, refusal):
        """n3 with `peer_cert` cannot join: n1 and n2 log `refusal` in "rejected connection", keep their
        leader and term, and n3 never receives their data."""
        cluster = self.cluster(peer_certs=("member", "member", peer_cert))
        good, intruder = cluster.members[:2], cluster.members[2]
        leader_id, term = leader_among(good)
        self.assertIsNotNone(leader_id, "n1 and n2 elected no leader; logs:\n" +
                             "\n".join(m.log_text()[-3000:] for m in cluster.members))
        good[0].etcdctl("put", "secret", "kept-from-intruder")
        deadline = time.time() + 10
        refusals = []
        while time.time() < deadline and not refusals:
            refusals = [e for m in good for e in m.log_entries("rejected connection") if refusal in e.get("error", "")]
            time.sleep(0.2)
        self.assertTrue(refusals, "no 'rejected connection' with %r" % refusal)
        time.sleep(3 * ELECTION_MS / 1000)  # the intruder keeps trying: the leader and its term stay
        self.assertEqual(leader_among(good, timeout_s=5), (leader_id, term))
        self.assertTrue(intruder.alive())
        got = intruder.etcdctl("get", "secret", "--consistency=s", "--print-value-only", check=False)
        self.assertNotIn("kept-from-intruder", got.stdout)
        status = intruder.status()
        self.assertTrue(status is None or status.get("leader", 0) in (0, status["header"]["member_id"]),
                        "the intruder follows the cluster's leader: %s" % status)

    def test_member_with_a_certificate_cn_not_allowed_cannot_join(self):
        self.check_refused_member("intruder", "CommonName authentication failed")

    def test_member_certificate_for_another_address_is_refused_as_etcd_checks_san(self):
        self.check_refused_member("elsewhere", "x509: certificate is valid for 127.0.0.9, not 127.0.0.1")

    def test_plaintext_connection_to_a_tls_peer_port_is_refused(self):
        cluster = self.cluster()
        self.assertIsNotNone(cluster.agreed_leader())
        target = cluster.members[0]
        # A members query frame's lead in plaintext (what a member without TLS would send first).
        with socket.create_connection(("127.0.0.1", target.peer_port), timeout=5) as plain:
            plain.sendall(b"\x14\x00\x00\x00" + b"\x00" * 32)
            plain.settimeout(15)
            try:
                answer = plain.recv(4096)
            except ConnectionResetError:
                answer = b""
        # The TLS listener may answer with an alert record (content type 21), never with a frame.
        self.assertTrue(answer == b"" or answer[:1] == b"\x15", answer[:16])
        deadline = time.time() + 5
        while time.time() < deadline and not target.log_entries("rejected connection"):
            time.sleep(0.1)
        self.assertTrue(target.log_entries("rejected connection"), target.log_text()[-2000:])
        self.assertIsNotNone(cluster.agreed_leader())  # still one leader that all agree on

    def test_new_member_joins_over_https_peer_urls(self):
        cluster = self.cluster()
        leader = cluster.agreed_leader()
        self.assertIsNotNone(leader)
        leader.etcdctl("put", "before-join", "known")
        wait_reconfig_ready(self, leader)
        port4 = free_port()
        out = leader.etcdctl("member", "add", "n4", "--peer-urls=https://127.0.0.1:%d" % port4, timeout=30).stdout
        initial = re.search(r'ETCD_INITIAL_CLUSTER="([^"]*)"', out).group(1)
        self.assertIn("n4=https://127.0.0.1:%d" % port4, initial)
        n4 = TlsMember("n4", leader.token, pki=self.pki)
        n4.peer_port = n4.listen_peer_port = port4
        n4.initial_cluster = initial
        n4.state = "existing"
        cluster.members.append(n4)  # stopped by PID in the cluster's cleanup
        n4.launch()

        def caught_up():
            got = n4.etcdctl("get", "before-join", "--consistency=s", "--print-value-only", check=False, timeout=10)
            return got.returncode == 0 and got.stdout.strip() == "known"
        wait_for(caught_up, 30, "n4 joined over TLS and caught up")
        self.assertTrue(n4.log_entries("joining the running cluster"), n4.log_text()[-2000:])
        leader.etcdctl("put", "after-join", "everywhere")
        self.assertEqual(n4.etcdctl("get", "after-join", "--print-value-only").stdout.strip(), "everywhere")

    def served_peer_certificate(self, member):
        """subject and serial of the certificate a new connection to `member`'s peer port gets."""
        p = member.path
        shown = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % member.peer_port,
                                "-CAfile", p("ca.crt"), "-cert", p("member.crt"), "-key", p("member.key")],
                               input="", capture_output=True, text=True, timeout=15)
        return subprocess.run(["openssl", "x509", "-noout", "-subject", "-serial"], input=shown.stdout,
                              capture_output=True, text=True, timeout=15).stdout.strip()

    def certificate_of(self, path):
        return subprocess.run(["openssl", "x509", "-noout", "-subject", "-serial", "-in", path],
                              capture_output=True, text=True, check=True, timeout=15).stdout.strip()

    def test_peer_certificate_rotation_without_restart(self):
        # n1's peer key pair lives in its own files, replaced while the cluster runs.
        for suffix in ("crt", "key"):
            shutil.copy(self.path("member." + suffix), self.path("n1-peer." + suffix))
        cluster = self.cluster(peer_certs=("n1-peer", "member", "member"))
        self.assertIsNotNone(cluster.agreed_leader())
        n1 = cluster.members[0]
        self.assertEqual(self.served_peer_certificate(n1), self.certificate_of(self.path("member.crt")))
        for suffix in ("key", "crt"):  # renamed into place, key first
            shutil.copy(self.path("member-renewed." + suffix), self.path("n1-new." + suffix))
            os.rename(self.path("n1-new." + suffix), self.path("n1-peer." + suffix))
        renewed = self.certificate_of(self.path("member-renewed.crt"))
        time.sleep(1.3)  # checked at most once per second, at a new handshake
        wait_for(lambda: self.served_peer_certificate(n1) == renewed, 10, "n1's peer port serving the new certificate")
        self.assertTrue(n1.log_entries("TLS files changed; new connections use the new certificate"))
        # The members' connections go on (old ones keep their session, new ones get the new certificate).
        n1.etcdctl("put", "after-peer-rotation", "ok")
        for m in cluster.members:
            self.assertEqual(m.etcdctl("get", "after-peer-rotation", "--print-value-only").stdout.strip(), "ok")
        self.assertIsNotNone(cluster.agreed_leader())

    def test_peer_auto_tls_cluster(self):
        cluster = self.cluster(peer_auto_tls=True)
        leader = cluster.agreed_leader()
        self.assertIsNotNone(leader, "no leader with --peer-auto-tls; logs:\n" +
                             "\n".join(m.log_text()[-3000:] for m in cluster.members))
        for m in cluster.members:
            started = m.log_entries("starting with peer TLS")
            self.assertTrue(started and started[0]["peer-auto-tls"], m.name)
        leader.etcdctl("put", "auto", "tls")
        for m in cluster.members:
            self.assertEqual(m.etcdctl("get", "auto", "--print-value-only").stdout.strip(), "tls", m.name)


if __name__ == "__main__":
    unittest.main(verbosity=2)
