"""tests/compat/auth_jwt_test.py - JWT auth tokens (--auth-token jwt,...) against real etcd 3.4 (issue 19).

Keys are made by the openssl CLI at test time. For RS256, PS256 and ES256, etcd and ringkv start with the
same keys and the same auth set-up (so their auth revisions agree): a token issued by one must work on the
other, both ways; a token signed by the openssl CLI itself (a third implementation) must work on both, an
expired or tampered one on neither; an auth change makes old tokens "revision of auth store is old" on
both. Also: a verify-only member (public key alone), and start-up errors for unusable keys.
Every process is started on loopback ports and stopped by PID."""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))
from auth_test import BCRYPT_COST, Etcd  # noqa: E402
from ringkv_process import RINGKV, RingkvServer, free_port  # noqa: E402
import grpc  # noqa: E402
from etcd3.etcdrpc import rpc_pb2 as rpc  # noqa: E402


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_keys(directory):
    run = lambda *args: subprocess.run(["openssl", *args], check=True, capture_output=True)  # noqa: E731
    run("genrsa", "-out", os.path.join(directory, "rsa.key"), "2048")
    run("rsa", "-in", os.path.join(directory, "rsa.key"), "-pubout", "-out", os.path.join(directory, "rsa.pub"))
    run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", os.path.join(directory, "ec.key"))
    run("ec", "-in", os.path.join(directory, "ec.key"), "-pubout", "-out", os.path.join(directory, "ec.pub"))


def openssl_rs256_token(key_file, claims):
    """A token signed by the openssl CLI (RS256 = PKCS#1 v1.5 over SHA-256), with Go's JSON spelling."""
    header = b64url(json.dumps({"alg": "RS256", "typ": "JWT"}, separators=(",", ":"), sort_keys=True).encode())
    body = b64url(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    signed = ("%s.%s" % (header, body)).encode()
    signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key_file], input=signed, check=True,
                               capture_output=True).stdout
    return "%s.%s" % (signed.decode(), b64url(signature))


class Client:
    """The two gRPC calls the test needs, on one server."""

    def __init__(self, server):
        self.channel = grpc.insecure_channel(server.endpoint)
        self.auth = self.channel.unary_unary("/etcdserverpb.Auth/Authenticate",
                                             request_serializer=rpc.AuthenticateRequest.SerializeToString,
                                             response_deserializer=rpc.AuthenticateResponse.FromString)
        self.range = self.channel.unary_unary("/etcdserverpb.KV/Range",
                                              request_serializer=rpc.RangeRequest.SerializeToString,
                                              response_deserializer=rpc.RangeResponse.FromString)

    def token(self, user, password):
        try:
            return self.auth(rpc.AuthenticateRequest(name=user, password=password), timeout=10).token
        except grpc.RpcError as error:
            return "%s %s" % (error.code(), error.details())

    def get(self, token, key=b"k1"):
        try:
            kvs = self.range(rpc.RangeRequest(key=key), metadata=[("token", token)], timeout=10).kvs
            return "ok %s" % [kv.value.decode() for kv in kvs]
        except grpc.RpcError as error:
            return "%s %s" % (error.code(), error.details())

    def close(self):
        self.channel.close()


def set_up(server):
    ctl = server.etcdctl
    for args in (["user", "add", "root:rootpw"], ["user", "grant-role", "root", "root"], ["user", "add", "alice:pa"],
                 ["role", "add", "r"], ["role", "grant-permission", "r", "read", "k1"], ["user", "grant-role", "alice", "r"],
                 ["put", "k1", "v1"], ["put", "k2", "v2"], ["auth", "enable"]):
        ctl(*args)


class JwtAgainstEtcd(unittest.TestCase):
    def setUp(self):
        self.keys = tempfile.mkdtemp(prefix="ringkv-jwt-", dir="/tmp")
        make_keys(self.keys)

    def tearDown(self):
        shutil.rmtree(self.keys, ignore_errors=True)

    def option(self, method, public=True, private=True):
        kind = "ec" if method.startswith("ES") else "rsa"
        parts = ["jwt"]
        if public:
            parts.append("pub-key=" + os.path.join(self.keys, kind + ".pub"))
        if private:
            parts.append("priv-key=" + os.path.join(self.keys, kind + ".key"))
        return ",".join(parts + ["sign-method=" + method, "ttl=5m"])

    def test_tokens_cross_between_etcd_and_ringkv(self):
        for method in ("RS256", "PS256", "ES256"):
            with self.subTest(method=method):
                self.check_method(method)

    def check_method(self, method):
        etcd, ringkv = Etcd(), RingkvServer(["--bcrypt-cost", BCRYPT_COST])
        for server in (etcd, ringkv):
            server.extra_args += ["--auth-token", self.option(method)]
        servers = []
        try:
            for server in (etcd, ringkv):
                servers.append(server.start())
                set_up(server)
            on = {"etcd": Client(etcd), "ringkv": Client(ringkv)}
            tokens = {label: client.token("alice", "pa") for label, client in on.items()}
            header = json.loads(unb64url(tokens["ringkv"].split(".")[0]))
            claims = json.loads(unb64url(tokens["ringkv"].split(".")[1]))
            self.assertEqual(header, {"alg": method, "typ": "JWT"})
            self.assertEqual(sorted(claims), ["exp", "revision", "username"])
            self.assertEqual(claims["username"], "alice")
            self.assertEqual(claims["revision"], json.loads(unb64url(tokens["etcd"].split(".")[1]))["revision"])
            self.assertLess(abs(claims["exp"] - (time.time() + 300)), 30)
            seen = {}
            for label, client in on.items():
                seen[label] = [client.get(tokens["etcd"]), client.get(tokens["ringkv"]),
                               client.get(tokens["ringkv"], b"k2"), client.get(tokens["ringkv"][:-4] + "AAAA"),
                               client.get(tokens["ringkv"] + "x"), client.token("alice", "wrong")]
                if method == "RS256":
                    now = int(time.time())
                    forged = lambda **claims: openssl_rs256_token(os.path.join(self.keys, "rsa.key"), claims)  # noqa
                    seen[label] += [client.get(forged(exp=now + 60, revision=claims["revision"], username="alice")),
                                    client.get(forged(exp=now - 5, revision=claims["revision"], username="alice")),
                                    client.get(forged(exp=now + 60, revision=claims["revision"], username="root"),
                                               b"k2")]
            self.assertEqual(seen["ringkv"], seen["etcd"])
            self.assertEqual(seen["ringkv"][:3], ["ok ['v1']", "ok ['v1']",
                                                  "StatusCode.PERMISSION_DENIED etcdserver: permission denied"])
            self.assertEqual(seen["ringkv"][3], "StatusCode.UNAUTHENTICATED etcdserver: invalid auth token")
            if method == "RS256":
                self.assertEqual(seen["ringkv"][6:], ["ok ['v1']", "StatusCode.UNAUTHENTICATED etcdserver: invalid auth token",
                                                      "ok ['v2']"])
            # Any auth change makes the tokens issued before it old, on both.
            for server in (etcd, ringkv):
                server.etcdctl("--user", "root:rootpw", "role", "add", "later")
            after = {label: [client.get(tokens[label])] for label, client in on.items()}
            self.assertEqual(after["ringkv"], after["etcd"])
            self.assertEqual(after["ringkv"], ["StatusCode.INVALID_ARGUMENT etcdserver: revision of auth store is old"])
            # etcdctl authenticates by itself and goes on.
            for server in (etcd, ringkv):
                self.assertEqual(server.etcdctl("--user", "alice:pa", "get", "k1", "--print-value-only").stdout, "v1\n")
            for client in on.values():
                client.close()
        finally:
            for server in servers:
                server.cleanup()

    def test_verify_only_member_and_unusable_keys(self):
        etcd, ringkv = Etcd(), RingkvServer(["--bcrypt-cost", BCRYPT_COST])
        etcd.extra_args += ["--auth-token", self.option("ES256")]
        ringkv.extra_args += ["--auth-token", self.option("ES256", private=False)]
        servers = []
        try:
            for server in (etcd, ringkv):
                servers.append(server.start())
                set_up(server)
            from_etcd, on_ringkv = Client(etcd), Client(ringkv)
            self.assertEqual(on_ringkv.get(from_etcd.token("alice", "pa")), "ok ['v1']")
            self.assertEqual(on_ringkv.token("alice", "pa"),
                             "StatusCode.UNKNOWN auth: token signing attempted with verify-only key")
            self.assertEqual(on_ringkv.token("alice", "wrong"),
                             "StatusCode.INVALID_ARGUMENT etcdserver: authentication failed, invalid user ID or password")
            from_etcd.close()
            on_ringkv.close()
        finally:
            for server in servers:
                server.cleanup()
        refused = [
            ("jwt,priv-key=/nonexistent/a.key,sign-method=RS256", "open /nonexistent/a.key: no such file or directory"),
            (self.option("ES256", private=False).replace("ES256", "RS256"), "key is not a valid RSA public key"),
            ("jwt,pub-key=%s/rsa.pub,priv-key=%s/ec.key,sign-method=ES256" % (self.keys, self.keys),
             "key is not a valid ECDSA public key"),
        ]
        other = os.path.join(self.keys, "other.key")
        subprocess.run(["openssl", "genrsa", "-out", other, "2048"], check=True, capture_output=True)
        refused.append(("jwt,pub-key=%s/rsa.pub,priv-key=%s,sign-method=RS256" % (self.keys, other),
                        "auth: public and private keys don't match"))
        for option, message in refused:
            data_dir = tempfile.mkdtemp(prefix="ringkv-jwt-data-", dir="/tmp")
            try:
                client, peer = "http://127.0.0.1:%d" % free_port(), "http://127.0.0.1:%d" % free_port()
                out = subprocess.run([RINGKV, "--data-dir", data_dir, "--auth-token", option,
                                      "--listen-client-urls", client, "--advertise-client-urls", client,
                                      "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                                      "--initial-cluster", "default=" + peer], capture_output=True, text=True, timeout=20)
            finally:
                shutil.rmtree(data_dir, ignore_errors=True)
            self.assertEqual(out.returncode, 1, out.stderr)
            self.assertIn("failed to create token provider", out.stderr)
            self.assertIn(message, out.stderr)


if __name__ == "__main__":
    unittest.main()
