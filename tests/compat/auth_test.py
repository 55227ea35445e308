"""tests/compat/auth_test.py - users, roles and auth (issue 19) with the real etcdctl 3.4:

- a permission matrix (users x roles x key ranges x operations) run against real etcd 3.4 and ringkv set up
  the same way: every cell must be allowed or refused alike, with the same error text;
- the user/role/auth commands' answers, also compared with etcd's;
- auth enabled through one member of a three-member ringkv cluster applies on all three;
- a restart keeps the auth state, also when it comes back from a raft snapshot;
- the Lock and Election services check their keys as etcd's recipes do (users with readwrite, read and
  no permission on the names), compared with etcd's answers call for call.
Every process is started on loopback ports and stopped by PID."""
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cluster"))
from ringkv_process import RingkvServer, free_port  # noqa: E402
from cluster_test import Cluster  # noqa: E402
from tls_test import CLIENT_EXT, SERVER_EXT, make_ca, make_key_and_csr, sign  # noqa: E402
import etcd3  # noqa: E402
import grpc  # noqa: E402
from etcd3.etcdrpc import rpc_pb2  # noqa: E402  (Debian's python3-etcd3, which cluster_test imports)

BCRYPT_COST = "4"  # the smallest: both servers hash every password the test sets


class Etcd(RingkvServer):
    """Real etcd 3.4 on loopback ports: RingkvServer's start, etcdctl and stop by PID."""

    def __init__(self):
        super().__init__()
        self.peer_url = "http://127.0.0.1:%d" % free_port()

    def command(self, url):
        return ["etcd", "--name", "default", "--data-dir", self.data_dir, "--bcrypt-cost", BCRYPT_COST] + self.extra_args + [
                "--listen-client-urls", url, "--advertise-client-urls", url,
                "--listen-peer-urls", self.peer_url, "--initial-advertise-peer-urls", self.peer_url,
                "--initial-cluster", "default=" + self.peer_url]

    def cleanup(self):
        self.stop()  # etcd re-raises SIGTERM after shutting down: no exit code to check
        os.unlink(self.log_path)


# (user, password, role, permission grant arguments after the role name)
USERS = [
    ("alice", "pa", "r_key", ["readwrite", "k1"]),
    ("bob", "pb", "r_prefix", ["read", "p/", "--prefix"]),
    ("carol", "pc", "r_from", ["write", "m", "--from-key"]),
    ("erin", "pe", "r_range", ["readwrite", "a", "c"]),
    ("dave", "pd", None, None),
]

# (name, etcdctl arguments, stdin)
OPERATIONS = [
    ("get k1", ["get", "k1"], None),
    ("get k1 range", ["get", "k1", "k2"], None),
    ("get p/x", ["get", "p/x"], None),
    ("get p/ prefix", ["get", "p/", "--prefix"], None),
    ("get p prefix", ["get", "p", "--prefix"], None),
    ("get m from-key", ["get", "m", "--from-key"], None),
    ("get z", ["get", "z"], None),
    ("get b", ["get", "b"], None),
    ("get a..c", ["get", "a", "c"], None),
    ("get a..d", ["get", "a", "d"], None),
    ("put k1", ["put", "k1", "v"], None),
    ("put k1 prev-kv", ["put", "k1", "v", "--prev-kv"], None),
    ("put p/x", ["put", "p/x", "v"], None),
    ("put z", ["put", "z", "v"], None),
    ("put m", ["put", "m", "v"], None),
    ("put b", ["put", "b", "v"], None),
    ("del k1", ["del", "k1"], None),
    ("del p/ prefix", ["del", "p/", "--prefix"], None),
    ("del m from-key", ["del", "m", "--from-key"], None),
    ("del a..c", ["del", "a", "c"], None),
    ("txn compare k1 put z", ["txn"], 'value("k1") = "v"\n\nput z w\n\nput k1 w\n\n'),
    ("txn compare b put b", ["txn"], 'value("b") = "v"\n\nput b w\n\nget a c\n\n'),
    ("txn compare p/x get p/", ["txn"], 'value("p/x") = "v"\n\nget p/x\n\n\n'),
    ("user list", ["user", "list"], None),
    ("role list", ["role", "list"], None),
    ("user get self", ["user", "get", "{user}"], None),
    ("user get root", ["user", "get", "root"], None),
    ("role get r_key", ["role", "get", "r_key"], None),
    ("role add", ["role", "add", "x_{user}"], None),
    ("defrag", ["defrag"], None),
    ("hashkv", ["endpoint", "hashkv"], None),
    ("status", ["endpoint", "status"], None),
    ("member list", ["member", "list"], None),
    ("lease grant", ["lease", "grant", "100"], None),
    ("alarm list", ["alarm", "list"], None),
    ("put k1 on the lease of z", ["put", "k1", "v", "--lease", "{lease}"], None),
    ("lease revoke (z attached)", ["lease", "revoke", "{lease}"], None),
]


def outcome(result):
    """What a cell compares: allowed, or refused with its error text (the last line etcdctl prints, the
    server's address left out)."""
    if result.returncode == 0:
        return "allowed"
    lines = [line for line in result.stderr.splitlines() if line.strip() and '"level"' not in line]
    return "refused: " + re.sub(r"127\.0\.0\.1:\d+", "<endpoint>", lines[-1] if lines else "exit %d" % result.returncode)


def set_up_auth(server):
    ctl = server.etcdctl
    ctl("user", "add", "root:rootpw")
    ctl("user", "grant-role", "root", "root")
    for user, password, role, grant in USERS:
        ctl("user", "add", "%s:%s" % (user, password))
        if role:
            ctl("role", "add", role)
            ctl("role", "grant-permission", role, *grant)
            ctl("user", "grant-role", user, role)
    for key in ["k1", "p/x", "m", "b"]:
        ctl("put", key, "v")
    lease = ctl("lease", "grant", "600").stdout.split()[1]  # "lease <hex id> granted with TTL(600s)"
    ctl("put", "z", "v", "--lease", lease)
    ctl("auth", "enable")
    return lease


def matrix(server, lease):
    cells = {}
    for user, password, _, _ in USERS + [("root", "rootpw", None, None)]:
        for name, args, stdin in OPERATIONS:
            args = [a.replace("{user}", user).replace("{lease}", lease) for a in args]
            result = server.etcdctl("--user", "%s:%s" % (user, password), *args, input=stdin, check=False)
            cells[(user, name)] = outcome(result)
    for name, args, stdin in OPERATIONS[:3] + OPERATIONS[10:11] + OPERATIONS[23:24] + OPERATIONS[29:31]:
        args = [a.replace("{user}", "nobody") for a in args]
        cells[("(no user)", name)] = outcome(server.etcdctl(*args, input=stdin, check=False))
    cells[("alice", "bad password")] = outcome(server.etcdctl("--user", "alice:wrong", "get", "k1", check=False))
    cells[("nobody", "unknown user")] = outcome(server.etcdctl("--user", "nobody:x", "get", "k1", check=False))
    return cells


class AuthAgainstEtcd(unittest.TestCase):
    def test_management_commands_answer_as_etcd(self):
        answers = {}
        for label, server in (("etcd", Etcd()), ("ringkv", RingkvServer(["--bcrypt-cost", BCRYPT_COST]))):
            server.start()
            try:
                ctl = lambda *a: outcome(server.etcdctl(*a, check=False))  # noqa: E731
                root = ["--user", "root:rootpw"]
                answers[label] = [
                    ctl("auth", "enable"),  # no root user: refused
                    ctl("user", "add", "root:rootpw"),
                    ctl("user", "add", "root:rootpw"),
                    ctl("user", "add", "np", "--no-password"),
                    ctl("user", "grant-role", "np", "nope"),
                    ctl("role", "add", "r"),
                    ctl("role", "add", "r"),
                    ctl("role", "grant-permission", "r", "read", "k"),
                    ctl("role", "grant-permission", "r", "write", "k"),  # the same range: type replaced
                    server.etcdctl("role", "get", "r").stdout,
                    ctl("role", "revoke-permission", "r", "nokey"),
                    ctl("user", "revoke-role", "np", "r"),
                    ctl("user", "grant-role", "root", "root"),
                    ctl("auth", "enable"),
                    ctl("get", "k"),  # no user now
                    ctl("--user", "np:", "get", "k"),  # a no-password user cannot authenticate
                    ctl("user", "delete", "root", *root),
                    ctl("user", "revoke-role", "root", "root", *root),
                    ctl("role", "delete", "root", *root),
                    ctl("user", "delete", "nobody", *root),
                    ctl("role", "delete", "nope", *root),
                    ctl("user", "passwd", "np", "--interactive=false", *root),
                    server.etcdctl("user", "list", *root).stdout,
                    server.etcdctl("role", "list", *root).stdout,
                    ctl("auth", "disable", *root),
                    ctl("get", "k"),
                ]
            finally:
                server.cleanup()
        self.assertEqual(answers["ringkv"], answers["etcd"])

    def test_permission_matrix_matches_etcd(self):
        results = {}
        for label, server in (("etcd", Etcd()), ("ringkv", RingkvServer(["--bcrypt-cost", BCRYPT_COST]))):
            server.start()
            try:
                results[label] = matrix(server, set_up_auth(server))
            finally:
                server.cleanup()
        differences = ["%s / %s: etcd %s, ringkv %s" % (cell[0], cell[1], results["etcd"][cell], results["ringkv"][cell])
                       for cell in results["etcd"] if results["etcd"][cell] != results["ringkv"].get(cell)]
        self.maxDiff = None
        self.assertEqual(differences, [])
        # The matrix refuses and allows something in every row (it tests the checks, not one answer).
        self.assertIn("allowed", results["ringkv"].values())
        self.assertIn("refused: Error: etcdserver: permission denied", results["ringkv"].values())


TOKEN_TTL_S = 2


def token_story(server, rpc):
    """Simple tokens over gRPC (`token` metadata) and the JSON gateway (Authorization header): what a
    client sees with a good, a missing, a bogus and an expired token, and after authenticating again."""
    seen = []
    with grpc.insecure_channel(server.endpoint) as channel:
        authenticate = channel.unary_unary("/etcdserverpb.Auth/Authenticate",
                                           request_serializer=rpc.AuthenticateRequest.SerializeToString,
                                           response_deserializer=rpc.AuthenticateResponse.FromString)
        get = channel.unary_unary("/etcdserverpb.KV/Range", request_serializer=rpc.RangeRequest.SerializeToString,
                                  response_deserializer=rpc.RangeResponse.FromString)

        def try_get(metadata):
            try:
                return "ok %s" % [kv.value for kv in get(rpc.RangeRequest(key=b"k1"), metadata=metadata, timeout=10).kvs]
            except grpc.RpcError as error:
                return "%s %s" % (error.code(), error.details())

        def gateway_get(token):
            body = json.dumps({"key": base64.b64encode(b"k1").decode()}).encode()
            headers = {"Authorization": token} if token else {}
            request = urllib.request.Request("http://%s/v3/kv/range" % server.endpoint, data=body, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return "%d %s" % (response.status, [kv["value"] for kv in json.loads(response.read())["kvs"]])
            except urllib.error.HTTPError as error:
                answer = json.loads(error.read())
                return "%d %s %s" % (error.code, answer.get("code"), answer.get("message"))

        try:
            authenticate(rpc.AuthenticateRequest(name="alice", password="wrong"), timeout=10)
        except grpc.RpcError as error:
            seen.append("bad password: %s %s" % (error.code(), error.details()))
        token = authenticate(rpc.AuthenticateRequest(name="alice", password="pa"), timeout=10).token
        seen.append("good token: " + try_get([("token", token)]))
        seen.append("gateway, good token: " + gateway_get(token))
        seen.append("no token: " + try_get([]))
        seen.append("gateway, no token: " + gateway_get(None))
        seen.append("bogus token: " + try_get([("token", "bogus.1")]))
        time.sleep(TOKEN_TTL_S + 2.5)  # unused past its TTL (etcd checks expiry every second)
        seen.append("expired token: " + try_get([("token", token)]))
        token = authenticate(rpc.AuthenticateRequest(name="alice", password="pa"), timeout=10).token
        seen.append("authenticated again: " + try_get([("token", token)]))
    return seen


class TokensAgainstEtcd(unittest.TestCase):
    def test_tokens_expire_and_clients_authenticate_again_as_with_etcd(self):
        stories = {}
        for label, server in (("etcd", Etcd()), ("ringkv", RingkvServer(["--bcrypt-cost", BCRYPT_COST]))):
            server.extra_args += ["--auth-token-ttl", str(TOKEN_TTL_S)]
            server.start()
            try:
                set_up_auth(server)
                stories[label] = token_story(server, rpc_pb2)
            finally:
                server.cleanup()
        self.maxDiff = None
        self.assertEqual(stories["ringkv"], stories["etcd"])
        self.assertIn("expired token: StatusCode.UNAUTHENTICATED etcdserver: invalid auth token", stories["ringkv"])


def tls_variant(server_class):
    """`server_class` serving https with a client certificate required (--client-cert-auth)."""

    class TlsServer(server_class):
        def __init__(self, pki, *args):
            super().__init__(*args)
            self.pki = pki
            self.extra_args += ["--cert-file", os.path.join(pki, "server.crt"), "--key-file",
                                os.path.join(pki, "server.key"), "--trusted-ca-file", os.path.join(pki, "ca.crt"),
                                "--client-cert-auth"]

        def client_args(self, cert):
            return ["--cacert", os.path.join(self.pki, "ca.crt"), "--cert", os.path.join(self.pki, cert + ".crt"),
                    "--key", os.path.join(self.pki, cert + ".key")]

        def start(self):
            args = self.command("https://127.0.0.1:%d" % self.port)
            self.log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
            deadline = time.time() + 20
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError("server exited:\n" + self.log_text())
                if self.etcdctl(*self.client_args("root"), "endpoint", "health", check=False).returncode == 0:
                    return self
                time.sleep(0.1)
            raise RuntimeError("server did not become healthy:\n" + self.log_text())

    return TlsServer


class ClientCertificateIdentity(unittest.TestCase):
    def test_certificate_common_name_is_the_user_as_with_etcd(self):
        pki = tempfile.mkdtemp(prefix="ringkv-auth-pki-", dir="/tmp")
        try:
            make_ca(pki, "ca", "/CN=ringkv-auth-test-ca")
            make_key_and_csr(pki, "server", "/CN=server")
            sign(pki, "server", "ca", SERVER_EXT)
            for user in ("root", "alice", "dave"):
                make_key_and_csr(pki, user, "/CN=" + user)
                sign(pki, user, "ca", CLIENT_EXT)
            answers = {}
            for label, server in (("etcd", tls_variant(Etcd)(pki)),
                                  ("ringkv", tls_variant(RingkvServer)(pki, ["--bcrypt-cost", BCRYPT_COST]))):
                server.start()
                try:
                    as_root = server.client_args("root")
                    server.etcdctl(*as_root, "user", "add", "root:rootpw")
                    server.etcdctl(*as_root, "user", "grant-role", "root", "root")
                    server.etcdctl(*as_root, "user", "add", "alice:pa")
                    server.etcdctl(*as_root, "role", "add", "r")
                    server.etcdctl(*as_root, "role", "grant-permission", "r", "read", "k")
                    server.etcdctl(*as_root, "user", "grant-role", "alice", "r")
                    server.etcdctl(*as_root, "auth", "enable")
                    ctl = lambda cert, *a: outcome(server.etcdctl(*server.client_args(cert), *a, check=False))  # noqa
                    answers[label] = [ctl("root", "put", "k", "v"), ctl("root", "user", "list"),
                                      ctl("alice", "get", "k"), ctl("alice", "put", "k", "w"),
                                      ctl("alice", "user", "list"), ctl("dave", "get", "k"),
                                      ctl("dave", "--user", "alice:pa", "get", "k")]
                finally:
                    server.cleanup()
        finally:
            shutil.rmtree(pki, ignore_errors=True)
        self.assertEqual(answers["ringkv"], answers["etcd"])
        self.assertEqual(answers["ringkv"][:4], ["allowed", "allowed", "allowed",
                                                 "refused: Error: etcdserver: permission denied"])


def varint(value):
    out = bytearray()
    value &= (1 << 64) - 1
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def pb(*fields):
    """A protobuf message by hand: (field number, bytes | str | int) pairs; None values are left out."""
    out = b""
    for number, value in fields:
        if value is None:
            continue
        if isinstance(value, int):
            out += varint(number << 3) + varint(value)
        else:
            value = value.encode() if isinstance(value, str) else value
            out += varint(number << 3 | 2) + varint(len(value)) + value
    return out


def recipe_story(server):
    """Lock and Election calls over gRPC as root, w (readwrite on "l" and "e" prefixes), r (read) and n
    (no role), each with its own token and lease: what each call answers (ok, or code and message)."""
    ctl = server.etcdctl
    for args in (["user", "add", "root:rootpw"], ["user", "grant-role", "root", "root"], ["role", "add", "rw"],
                 ["role", "grant-permission", "rw", "readwrite", "l", "--prefix"],
                 ["role", "grant-permission", "rw", "readwrite", "e", "--prefix"], ["role", "add", "ro"],
                 ["role", "grant-permission", "ro", "read", "l", "--prefix"],
                 ["role", "grant-permission", "ro", "read", "e", "--prefix"], ["auth", "enable"]):
        ctl(*args)
    for user, role in (("w", "rw"), ("r", "ro"), ("n", None)):
        ctl("--user", "root:rootpw", "user", "add", user + ":p")
        if role:
            ctl("--user", "root:rootpw", "user", "grant-role", user, role)
    seen = []
    raw = lambda b: b  # noqa: E731
    with grpc.insecure_channel(server.endpoint) as channel:
        call = lambda method: channel.unary_unary(method, request_serializer=raw, response_deserializer=raw)  # noqa
        authenticate = channel.unary_unary("/etcdserverpb.Auth/Authenticate",
                                           request_serializer=rpc_pb2.AuthenticateRequest.SerializeToString,
                                           response_deserializer=rpc_pb2.AuthenticateResponse.FromString)
        grant = channel.unary_unary("/etcdserverpb.Lease/LeaseGrant",
                                    request_serializer=rpc_pb2.LeaseGrantRequest.SerializeToString,
                                    response_deserializer=rpc_pb2.LeaseGrantResponse.FromString)
        get = channel.unary_unary("/etcdserverpb.KV/Range", request_serializer=rpc_pb2.RangeRequest.SerializeToString,
                                  response_deserializer=rpc_pb2.RangeResponse.FromString)

        def answer(method, request, token):
            try:
                call(method)(request, metadata=[("token", token)] if token else [], timeout=5)
                return "ok"
            except grpc.RpcError as error:
                return "%s %s" % (error.code(), error.details())

        def observe(token):
            stream = channel.unary_stream("/v3electionpb.Election/Observe", request_serializer=raw,
                                          response_deserializer=raw)(pb((1, "e")), metadata=[("token", token)], timeout=2)
            try:
                next(stream)
                return "leader"
            except StopIteration:
                return "ended"
            except grpc.RpcError as error:
                return "%s %s" % (error.code(), error.details())

        tokens = {u: authenticate(rpc_pb2.AuthenticateRequest(name=u, password=p), timeout=10).token
                  for u, p in (("root", "rootpw"), ("w", "p"), ("r", "p"), ("n", "p"))}
        leases = {u: grant(rpc_pb2.LeaseGrantRequest(TTL=60), metadata=[("token", t)], timeout=10).ID
                  for u, t in tokens.items()}
        root_key = "e/%x" % leases["root"]
        seen.append("root campaign: " + answer("/v3electionpb.Election/Campaign",
                                                pb((1, "e"), (2, leases["root"]), (3, "v")), tokens["root"]))
        root_rev = get(rpc_pb2.RangeRequest(key=root_key.encode()), metadata=[("token", tokens["root"])],
                       timeout=10).kvs[0].create_revision
        leader_key = pb((1, "e"), (2, root_key), (3, root_rev), (4, leases["root"]))
        seen.append("no token lock: " + answer("/v3lockpb.Lock/Lock", pb((1, "l-x"), (2, leases["n"])), None))
        seen.append("bogus token lock: " + answer("/v3lockpb.Lock/Lock", pb((1, "l-x"), (2, leases["n"])), "bogus.1"))
        for user in ("n", "r", "w"):
            token, lease = tokens[user], leases[user]
            lock_name = "l-" + user
            seen.append(user + " lock: " + answer("/v3lockpb.Lock/Lock", pb((1, lock_name), (2, lease)), token))
            seen.append(user + " unlock: " + answer("/v3lockpb.Lock/Unlock", pb((1, "%s/%x" % (lock_name, lease))), token))
            seen.append(user + " campaign: " + answer("/v3electionpb.Election/Campaign",
                                                      pb((1, "e-" + user), (2, lease), (3, "v")), token))
            seen.append(user + " leader: " + answer("/v3electionpb.Election/Leader", pb((1, "e")), token))
            seen.append(user + " observe: " + observe(token))
            seen.append(user + " proclaim: " + answer("/v3electionpb.Election/Proclaim",
                                                      pb((1, leader_key), (2, "x")), token))
            seen.append(user + " resign: " + answer("/v3electionpb.Election/Resign", pb((1, leader_key)), token))
    return seen


class RecipesAgainstEtcd(unittest.TestCase):
    def test_lock_and_election_check_permissions_as_etcd(self):
        stories = {}
        for label, server in (("etcd", Etcd()), ("ringkv", RingkvServer(["--bcrypt-cost", BCRYPT_COST]))):
            server.start()
            try:
                stories[label] = recipe_story(server)
            finally:
                server.cleanup()
        self.maxDiff = None
        self.assertEqual(stories["ringkv"], stories["etcd"])
        self.assertIn("w lock: ok", stories["ringkv"])
        self.assertIn("r lock: StatusCode.UNKNOWN etcdserver: permission denied", stories["ringkv"])


def python_client_story(server):
    """Debian's python3-etcd3 with user and password (it authenticates and sends the token itself, as a
    call credential: grpc sends those over TLS only, so the servers serve https)."""
    set_up_auth(server)
    seen = []
    tls = dict(ca_cert=os.path.join(server.pki, "ca.crt"), cert_cert=os.path.join(server.pki, "dave.crt"),
               cert_key=os.path.join(server.pki, "dave.key"))
    connect = lambda user, password: etcd3.client(host="127.0.0.1", port=server.port, user=user,  # noqa: E731
                                                  password=password, timeout=10, **tls)

    def attempt(label, action):
        try:
            seen.append("%s: ok %s" % (label, action()))
        except grpc.RpcError as error:
            seen.append("%s: %s %s" % (label, error.code(), error.details()))
        except Exception as error:  # noqa: BLE001 - the exception's type and text are what is compared
            seen.append("%s: %s %s" % (label, type(error).__name__, error))

    alice, bob = connect("alice", "pa"), connect("bob", "pb")
    attempt("alice put k1", lambda: alice.put("k1", "from-python") and None)
    attempt("alice get k1", lambda: alice.get("k1")[0])
    attempt("alice put z", lambda: alice.put("z", "x") and None)
    attempt("bob get p/ prefix", lambda: sorted(v for v, _ in bob.get_prefix("p/")))
    attempt("bob put p/x", lambda: bob.put("p/x", "x") and None)
    attempt("bob delete k1", lambda: bob.delete("k1"))
    attempt("wrong password", lambda: connect("alice", "no").get("k1")[0])
    for client in (alice, bob):
        client.close()
    return seen


class PythonClientAgainstEtcd(unittest.TestCase):
    def test_python_etcd3_user_and_password_as_with_etcd(self):
        pki = tempfile.mkdtemp(prefix="ringkv-auth-pki-", dir="/tmp")
        stories = {}
        try:
            make_ca(pki, "ca", "/CN=ringkv-auth-test-ca")
            make_key_and_csr(pki, "server", "/CN=server")
            sign(pki, "server", "ca", SERVER_EXT)
            for user in ("root", "dave"):
                make_key_and_csr(pki, user, "/CN=" + user)
                sign(pki, user, "ca", CLIENT_EXT)
            for label, server in (("etcd", tls_variant(Etcd)(pki)),
                                  ("ringkv", tls_variant(RingkvServer)(pki, ["--bcrypt-cost", BCRYPT_COST]))):
                server.etcdctl = with_tls(server)
                server.start()
                try:
                    stories[label] = python_client_story(server)
                finally:
                    server.cleanup()
        finally:
            shutil.rmtree(pki, ignore_errors=True)
        self.maxDiff = None
        self.assertEqual(stories["ringkv"], stories["etcd"])
        self.assertIn("alice get k1: ok b'from-python'", stories["ringkv"])
        self.assertIn("alice put z: StatusCode.PERMISSION_DENIED etcdserver: permission denied", stories["ringkv"])


def with_tls(server):
    """server.etcdctl over https as the certificate of root (set_up_auth runs before auth is enabled)."""
    plain = server.etcdctl
    return lambda *args, **kw: plain(*server.client_args("root"), *args, **kw)


class AuthOnRingkv(unittest.TestCase):
    def test_bcrypt_does_not_stall_writes(self):
        """A UserAdd at a high bcrypt cost (about a second of hashing) runs while puts go on: if the hash ran
        on the raft shard, the puts made meanwhile would wait for it."""
        server = RingkvServer(["--bcrypt-cost", "14"]).start()
        try:
            client = etcd3.client(host="127.0.0.1", port=server.port, timeout=30)
            client.put("warm", "up")
            adding = threading.Thread(target=lambda: server.etcdctl("user", "add", "slow:pw", timeout=120))
            started = time.time()
            adding.start()
            latencies = []
            while adding.is_alive():
                began = time.time()
                client.put("during", str(len(latencies)))
                latencies.append(time.time() - began)
            adding.join()
            hashing_s = time.time() - started
            self.assertEqual(server.etcdctl("user", "list").stdout, "slow\n")
            self.assertGreater(hashing_s, 0.5, "cost 14 should hash for well over half a second")
            self.assertGreaterEqual(len(latencies), 5)
            self.assertLess(max(latencies[1:]), hashing_s / 2, latencies)
        finally:
            server.cleanup()

    def test_restart_and_snapshot_keep_auth_state(self):
        server = RingkvServer(["--bcrypt-cost", BCRYPT_COST, "--snapshot-count", "20"]).start()
        try:
            set_up_auth(server)
            for i in range(60):  # past --snapshot-count a few times: the restart comes back from a snapshot
                server.etcdctl("--user", "alice:pa", "put", "k1", str(i))
            snap_dir = os.path.join(server.data_dir, "member", "snap")
            self.assertTrue(any(name.endswith(".snap") for name in os.listdir(snap_dir)))
            server.restart()
            self.assertEqual(outcome(server.etcdctl("get", "k1", check=False)),
                             "refused: Error: etcdserver: user name is empty")
            self.assertEqual(server.etcdctl("--user", "alice:pa", "get", "k1", "--print-value-only").stdout, "59\n")
            self.assertEqual(outcome(server.etcdctl("--user", "alice:pa", "put", "z", "v", check=False)),
                             "refused: Error: etcdserver: permission denied")
            self.assertEqual(server.etcdctl("--user", "root:rootpw", "role", "get", "r_prefix").stdout,
                             "Role r_prefix\nKV Read:\n\t[p/, p0) (prefix p/)\nKV Write:\n")
        finally:
            server.cleanup()

    def test_auth_enabled_through_one_member_applies_on_all_three(self):
        cluster = Cluster(3, extra_args=["--bcrypt-cost", BCRYPT_COST]).start()
        try:
            self.assertIsNotNone(cluster.agreed_leader())
            first, *others = cluster.members
            set_up_auth(first)
            for member in cluster.members:
                self.assertEqual(outcome(member.etcdctl("put", "k1", "x", check=False)),
                                 "refused: Error: etcdserver: user name is empty")
                self.assertEqual(member.etcdctl("--user", "alice:pa", "put", "k1", member.name).stdout, "OK\n")
                self.assertEqual(outcome(member.etcdctl("--user", "bob:pb", "put", "p/x", "v", check=False)),
                                 "refused: Error: etcdserver: permission denied")
                self.assertEqual(member.etcdctl("--user", "bob:pb", "get", "p/x", "--print-value-only").stdout, "v\n")
            # A change through another member reaches the first: bob may now write his prefix.
            others[1].etcdctl("--user", "root:rootpw", "role", "grant-permission", "r_prefix", "readwrite", "p/",
                              "--prefix")
            self.assertEqual(first.etcdctl("--user", "bob:pb", "put", "p/y", "v").stdout, "OK\n")
            others[0].etcdctl("--user", "root:rootpw", "auth", "disable")
            self.assertEqual(first.etcdctl("put", "k1", "free").stdout, "OK\n")
        finally:
            cluster.cleanup()


if __name__ == "__main__":
    unittest.main()
