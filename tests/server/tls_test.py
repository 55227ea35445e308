"""tests/server/tls_test.py - TLS on the client port, with real processes and certificates made by the
openssl CLI for this run: etcdctl (--cacert/--cert/--key) put/get/watch and python etcd3; client
certificates required (--client-cert-auth, or a trusted CA alone as in etcd 3.4) and refused when
missing, from another CA, expired or revoked by --client-crl-file; --auto-tls with --insecure-skip-tls-verify; curl --cacert against /health and the JSON gateway;
http and https listeners side by side; the handshake timeout and the per-shard handshake cap;
--client-cert-allowed-hostname (a client certificate valid for that name or refused); certificate
rotation without a restart (new connections get the new certificate, an open one keeps working);
start-up errors for bad client and peer TLS files and flags, in etcd's words."""
import base64
import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ringkv_process import RINGKV, free_port, log_entries  # noqa: E402

START_TIMEOUT_S = 15
HANDSHAKE_TIMEOUT_S = 10  # net/tls/tls_handshake.h: handshake_limits::timeout
HANDSHAKES_PER_SHARD = 256  # handshake_limits::concurrent_max


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True, timeout=60)


def make_key_and_csr(pki, name, subject):
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", name + ".key", "-out", name + ".csr", "-subj", subject, cwd=pki)


def sign(pki, name, ca, extensions):
    with open(os.path.join(pki, name + ".ext"), "w") as f:
        f.write(extensions)
    openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt", "-CAkey", ca + ".key", "-CAcreateserial",
            "-out", name + ".crt", "-days", "2", "-extfile", name + ".ext", cwd=pki)


def make_ca(pki, name, subject):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", name + ".key", "-out", name + ".crt", "-days", "3", "-subj", subject, cwd=pki)


def make_expired(pki, name, ca):
    """A client certificate of `ca` valid only in 2020 (openssl ca sets explicit dates)."""
    os.makedirs(os.path.join(pki, "issued"), exist_ok=True)
    open(os.path.join(pki, "index.txt"), "w").close()
    with open(os.path.join(pki, "serial"), "w") as f:
        f.write("1000\n")
    with open(os.path.join(pki, "ca.cnf"), "w") as f:
        f.write("[ca]\ndefault_ca = test_ca\n[test_ca]\ndatabase = index.txt\nnew_certs_dir = issued\n"
                "serial = serial\ncertificate = %s.crt\nprivate_key = %s.key\ndefault_md = sha256\n"
                "default_crl_days = 2\n"
                "policy = any_name\nx509_extensions = client\n[any_name]\ncommonName = supplied\n"
                "[client]\nbasicConstraints = CA:FALSE\nextendedKeyUsage = clientAuth\n" % (ca, ca))
    make_key_and_csr(pki, name, "/CN=expired-user")
    openssl("ca", "-batch", "-config", "ca.cnf", "-in", name + ".csr", "-out", name + ".crt", "-notext",
            "-startdate", "20200101000000Z", "-enddate", "20200102000000Z", cwd=pki)


def make_revoked(pki, name):
    """A client certificate of the CA (issued by make_expired's `openssl ca` set-up), then revoked in crl.pem."""
    make_key_and_csr(pki, name, "/CN=revoked-user")
    openssl("ca", "-batch", "-config", "ca.cnf", "-in", name + ".csr", "-out", name + ".crt", "-notext", "-days", "1",
            cwd=pki)
    openssl("ca", "-batch", "-config", "ca.cnf", "-revoke", name + ".crt", cwd=pki)
    openssl("ca", "-batch", "-config", "ca.cnf", "-gencrl", "-out", "crl.pem", cwd=pki)


SERVER_EXT = "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
CLIENT_EXT = "extendedKeyUsage=clientAuth\n"


def make_base_pki(prefix, ca_subject):
    """A new directory with a CA (ca.*), a server certificate for 127.0.0.1 (server.*) and a client
    certificate with CN=root (client.*)."""
    pki = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    make_ca(pki, "ca", ca_subject)
    make_key_and_csr(pki, "server", "/CN=ringkv-server")
    sign(pki, "server", "ca", SERVER_EXT)
    make_key_and_csr(pki, "client", "/CN=root")
    sign(pki, "client", "ca", CLIENT_EXT)
    return pki


def make_pki():
    pki = make_base_pki("ringkv-tls-", "/CN=ringkv-test-ca")
    make_key_and_csr(pki, "named-client", "/CN=root")
    sign(pki, "named-client", "ca", "subjectAltName=DNS:client.example\n" + CLIENT_EXT)
    make_key_and_csr(pki, "rotated", "/CN=ringkv-server-rotated")
    sign(pki, "rotated", "ca", SERVER_EXT)
    make_ca(pki, "other-ca", "/CN=another-ca")
    make_key_and_csr(pki, "stranger", "/CN=root")
    sign(pki, "stranger", "other-ca", CLIENT_EXT)
    make_expired(pki, "expired", "ca")
    make_revoked(pki, "revoked")
    return pki


class Server:
    """One ringkv on https://127.0.0.1:<port> (plus optional http listeners), stopped by PID."""

    def __init__(self, pki, tls_args, extra_urls=(), extra_args=()):
        self.pki = pki
        self.port = free_port()
        self.url = "https://127.0.0.1:%d" % self.port
        self.data_dir = tempfile.mkdtemp(prefix="ringkv-tls-data-", dir="/tmp")
        self.log_path = os.path.join(self.data_dir + ".log")
        urls = [self.url] + list(extra_urls)
        self.args = [RINGKV, "--data-dir", self.data_dir, "--listen-client-urls", ",".join(urls),
                     "--advertise-client-urls", self.url] + list(tls_args) + list(extra_args)
        self.proc = None

    def start(self, health_args=()):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + START_TIMEOUT_S
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("ringkv exited with %d:\n%s" % (self.proc.returncode, self.log_text()))
            out = self.curl("/health", *health_args, check=False)
            if out.returncode == 0 and '"health":"true"' in out.stdout:
                return self
            time.sleep(0.1)
        raise RuntimeError("ringkv did not become healthy over TLS:\n" + self.log_text())

    def curl(self, path, *args, check=True, data=None, base=None):
        command = ["curl", "-sS", "--max-time", "5"] + list(args)
        if data is not None:
            command += ["-X", "POST", "-d", data]
        result = subprocess.run(command + [(base or self.url) + path], capture_output=True, text=True, timeout=10)
        if check and result.returncode != 0:
            raise AssertionError("curl %s failed (%d): %s" % (path, result.returncode, result.stderr))
        return result

    def etcdctl(self, *args, tls=(), check=True, endpoint=None, timeout=20):
        env = dict(os.environ, ETCDCTL_API="3")
        command = ["etcdctl", "--endpoints", endpoint or self.url, "--dial-timeout", "2s", "--command-timeout", "4s"]
        result = subprocess.run(command + list(tls) + list(args), capture_output=True, text=True, env=env,
                                timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError("etcdctl %s failed (%d): %s%s" % (" ".join(args), result.returncode, result.stdout,
                                                                   result.stderr))
        return result

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def log_lines(self, message):
        return log_entries(self.log_text(), message)

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    code = self.proc.wait(15)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
                    code = None
            else:
                code = self.proc.returncode
            self.proc = None
            self.log.close()
            return code
        return 0

    def cleanup(self):
        code = self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        try:
            os.unlink(self.log_path)
        except OSError:
            pass
        return code


def b64(text):
    return base64.b64encode(text.encode()).decode()


class WithPki(unittest.TestCase):
    """Certificates made once per test class (by its make_pki), removed after it."""
    make_pki = staticmethod(make_pki)

    @classmethod
    def setUpClass(cls):
        cls.pki = cls.make_pki()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.pki, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.pki, name)


class TlsTest(WithPki):

    def client_tls(self, name="client"):
        return ["--cacert", self.path("ca.crt"), "--cert", self.path(name + ".crt"), "--key", self.path(name + ".key")]

    def server(self, tls_args, **kwargs):
        server = Server(self.pki, tls_args, **kwargs)
        self.addCleanup(self.check_clean_stop, server)
        return server

    def check_clean_stop(self, server):
        code = server.cleanup()
        self.assertEqual(code, 0, "ringkv did not exit 0 on SIGTERM")

    def start_with_client_cert(self, server):
        return server.start(health_args=["--cacert", self.path("ca.crt"), "--cert", self.path("client.crt"),
                                         "--key", self.path("client.key")])

    def mutual_tls_args(self):
        return ["--cert-file", self.path("server.crt"), "--key-file", self.path("server.key"),
                "--trusted-ca-file", self.path("ca.crt"), "--client-cert-auth"]

    def test_etcdctl_with_client_certificates_put_get_watch(self):
        http_port = free_port()
        server = self.server(self.mutual_tls_args(), extra_urls=["http://127.0.0.1:%d" % http_port])
        self.start_with_client_cert(server)
        tls = self.client_tls()
        server.etcdctl("put", "foo", "bar", tls=tls)
        self.assertEqual(server.etcdctl("get", "foo", tls=tls).stdout.split(), ["foo", "bar"])
        # A watch over TLS: the history from revision 1, then a live event.
        env = dict(os.environ, ETCDCTL_API="3")
        watcher = subprocess.Popen(["etcdctl", "--endpoints", server.url] + tls + ["watch", "foo", "--rev", "1"],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line.strip()) for line in watcher.stdout], daemon=True).start()
        try:
            got = [lines.get(timeout=10) for _ in range(3)]
            self.assertEqual(got, ["PUT", "foo", "bar"])
            server.etcdctl("put", "foo", "baz", tls=tls)
            got = [lines.get(timeout=10) for _ in range(3)]
            self.assertEqual(got, ["PUT", "foo", "baz"])
        finally:
            watcher.kill()
            watcher.wait()
            watcher.stdout.close()
        # The http listener beside it serves the same data in plaintext, and etcd's warning names it.
        plain = "http://127.0.0.1:%d" % http_port
        self.assertEqual(server.etcdctl("get", "foo", endpoint=plain).stdout.split(), ["foo", "baz"])
        insecure = server.log_lines("serving client traffic insecurely; this is strongly discouraged!")
        self.assertEqual([entry["level"] for entry in insecure], ["warn"])
        self.assertEqual(insecure[0]["address"], "127.0.0.1:%d" % http_port)
        secure = server.log_lines("serving client traffic securely")
        self.assertEqual([entry["address"] for entry in secure], ["127.0.0.1:%d" % server.port])
        # curl with a client certificate: /health and the JSON gateway over TLS.
        curl_tls = ["--cacert", self.path("ca.crt"), "--cert", self.path("client.crt"), "--key", self.path("client.key")]
        ranged = json.loads(server.curl("/v3/kv/range", *curl_tls, data=json.dumps({"key": b64("foo")})).stdout)
        self.assertEqual(base64.b64decode(ranged["kvs"][0]["value"]).decode(), "baz")

    def test_client_certificate_required_and_checked(self):
        server = self.server(self.mutual_tls_args())
        self.start_with_client_cert(server)
        server.etcdctl("put", "k", "v", tls=self.client_tls())
        refusals = [
            (["--cacert", self.path("ca.crt")], "peer did not return a certificate"),
            (self.client_tls("stranger"), "tls: failed to verify client certificate: unable to get local issuer"),
            (self.client_tls("expired"), "tls: failed to verify client certificate: certificate has expired"),
        ]
        for tls, reason in refusals:
            before = len(server.log_lines("rejected connection"))
            out = server.etcdctl("get", "k", tls=tls, check=False)
            self.assertNotEqual(out.returncode, 0, "etcdctl %s was served" % tls)
            self.assertNotIn("\nv", out.stdout)
            rejected = server.log_lines("rejected connection")[before:]
            self.assertTrue(rejected, "no 'rejected connection' line for %s" % tls)
            self.assertIn(reason, rejected[0]["error"])
            self.assertTrue(rejected[0]["remote-addr"].startswith("127.0.0.1:"))
            self.assertEqual(rejected[0]["level"], "warn")
        # curl without a client certificate is refused too; the server still serves the right client.
        self.assertNotEqual(server.curl("/health", "--cacert", self.path("ca.crt"), check=False).returncode, 0)
        self.assertEqual(server.etcdctl("get", "k", tls=self.client_tls()).stdout.split(), ["k", "v"])

    def test_revoked_certificate_refused_by_the_crl(self):
        server = self.server(self.mutual_tls_args() + ["--client-crl-file", self.path("crl.pem")])
        self.start_with_client_cert(server)
        server.etcdctl("put", "crl", "checked", tls=self.client_tls())
        before = len(server.log_lines("rejected connection"))
        out = server.etcdctl("get", "crl", tls=self.client_tls("revoked"), check=False)
        self.assertNotEqual(out.returncode, 0)
        rejected = server.log_lines("rejected connection")[before:]
        self.assertTrue(rejected)
        self.assertIn("certificate revoked", rejected[0]["error"])
        self.assertEqual(server.etcdctl("get", "crl", tls=self.client_tls()).stdout.split(), ["crl", "checked"])

    def test_python_etcd3_client(self):
        import etcd3  # Debian's python3-etcd3 (grpcio underneath: ALPN h2)
        server = self.server(self.mutual_tls_args())
        self.start_with_client_cert(server)
        client = etcd3.client(host="127.0.0.1", port=server.port, ca_cert=self.path("ca.crt"),
                              cert_key=self.path("client.key"), cert_cert=self.path("client.crt"), timeout=10)
        try:
            client.put("py", "over-tls")
            value, _ = client.get("py")
            self.assertEqual(value, b"over-tls")
            events, cancel = client.watch("py")
            client.put("py", "again")
            self.assertEqual(next(events).value, b"again")
            cancel()
        finally:
            client.close()

    def test_trusted_ca_alone_requires_client_certificates_as_etcd_34(self):
        server = self.server(["--cert-file", self.path("server.crt"), "--key-file", self.path("server.key"),
                              "--trusted-ca-file", self.path("ca.crt")])
        self.start_with_client_cert(server)
        self.assertNotEqual(server.etcdctl("put", "a", "b", tls=["--cacert", self.path("ca.crt")], check=False).returncode, 0)
        server.etcdctl("put", "a", "b", tls=self.client_tls())

    def test_server_certificate_only_with_curl_and_etcdctl(self):
        server = self.server(["--cert-file", self.path("server.crt"), "--key-file", self.path("server.key")])
        server.start(health_args=["--cacert", self.path("ca.crt")])
        cacert = ["--cacert", self.path("ca.crt")]
        self.assertEqual(json.loads(server.curl("/health", *cacert).stdout)["health"], "true")
        server.curl("/v3/kv/put", *cacert, data=json.dumps({"key": b64("gw"), "value": b64("over-tls")}))
        ranged = json.loads(server.curl("/v3/kv/range", *cacert, data=json.dumps({"key": b64("gw")})).stdout)
        self.assertEqual(base64.b64decode(ranged["kvs"][0]["value"]).decode(), "over-tls")
        self.assertEqual(server.etcdctl("get", "gw", tls=cacert).stdout.split(), ["gw", "over-tls"])
        # Without the CA the server's certificate is not trusted (curl exit 60).
        self.assertEqual(server.curl("/health", check=False).returncode, 60)
        # Plaintext HTTP to the https port gets no answer (the bytes are no TLS handshake).
        self.assertNotEqual(server.curl("/health", check=False, base="http://127.0.0.1:%d" % server.port).returncode, 0)

    def test_auto_tls(self):
        server = self.server(["--auto-tls"])
        server.start(health_args=["--insecure"])
        # etcdctl 3.4 needs --insecure-transport=false beside --insecure-skip-tls-verify (against real etcd
        # with --auto-tls too: with the first alone it answers "bad certificate" to the server).
        skip = ["--insecure-skip-tls-verify", "--insecure-transport=false"]
        server.etcdctl("put", "auto", "tls", tls=skip)
        self.assertEqual(server.etcdctl("get", "auto", tls=skip).stdout.split(), ["auto", "tls"])
        self.assertNotEqual(server.etcdctl("get", "auto", check=False).returncode, 0)  # self-signed: untrusted
        # The generated certificate: etcd's organization, this URL's host as an IP SAN.
        pem = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % server.port, "-showcerts"],
                             input="", capture_output=True, text=True, timeout=10).stdout
        text = subprocess.run(["openssl", "x509", "-noout", "-text"], input=pem, capture_output=True, text=True,
                              timeout=10).stdout
        self.assertIn("O = etcd", text)
        self.assertIn("IP Address:127.0.0.1", text)

    def test_client_cert_allowed_hostname(self):
        server = self.server(self.mutual_tls_args() + ["--client-cert-allowed-hostname", "client.example"])
        server.start(health_args=["--cacert", self.path("ca.crt"), "--cert", self.path("named-client.crt"),
                                  "--key", self.path("named-client.key")])
        server.etcdctl("put", "named", "ok", tls=self.client_tls("named-client"))
        refused = server.etcdctl("get", "named", tls=self.client_tls("client"), check=False)  # no such SAN
        self.assertNotEqual(refused.returncode, 0)
        rejected = [e for e in server.log_lines("rejected connection")
                    if "HostnameAuthentication failed" in e.get("error", "")]
        self.assertTrue(rejected, server.log_text()[-2000:])

    def served_certificate(self, port):
        """(subject, serial) of the certificate a new TLS connection to `port` gets, read by openssl s_client."""
        shown = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-CAfile", self.path("ca.crt"),
                                "-cert", self.path("client.crt"), "-key", self.path("client.key")],
                               input="", capture_output=True, text=True, timeout=15)
        parsed = subprocess.run(["openssl", "x509", "-noout", "-subject", "-serial"], input=shown.stdout,
                                capture_output=True, text=True, timeout=15)
        self.assertEqual(parsed.returncode, 0, shown.stdout + shown.stderr)
        return parsed.stdout.strip()

    def certificate_of(self, name):
        out = subprocess.run(["openssl", "x509", "-noout", "-subject", "-serial", "-in", self.path(name + ".crt")],
                             capture_output=True, text=True, check=True, timeout=15)
        return out.stdout.strip()

    def test_certificate_rotation_without_restart(self):
        import ssl
        live = tempfile.mkdtemp(prefix="ringkv-tls-rotate-", dir="/tmp")
        self.addCleanup(shutil.rmtree, live, True)
        for suffix in ("crt", "key"):
            shutil.copy(self.path("server." + suffix), os.path.join(live, "server." + suffix))
        server = self.server(["--cert-file", os.path.join(live, "server.crt"), "--key-file", os.path.join(live, "server.key"),
                              "--trusted-ca-file", self.path("ca.crt"), "--client-cert-auth"])
        self.start_with_client_cert(server)
        self.assertEqual(self.served_certificate(server.port), self.certificate_of("server"))

        # A connection opened before the rotation (HTTP/1.1 keep-alive over TLS).
        context = ssl.create_default_context(cafile=self.path("ca.crt"))
        context.load_cert_chain(self.path("client.crt"), self.path("client.key"))
        context.set_alpn_protocols(["http/1.1"])
        old = context.wrap_socket(socket.create_connection(("127.0.0.1", server.port), timeout=10),
                                  server_hostname="127.0.0.1")
        self.addCleanup(old.close)
        old_der = old.getpeercert(binary_form=True)

        def health(conn):
            conn.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            got = b""
            while b'"health":"true"' not in got:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                got += chunk
            return got

        self.assertIn(b'"health":"true"', health(old))
        # Rotate: new files renamed into place (a new inode each), as a certificate manager does.
        for suffix in ("key", "crt"):
            shutil.copy(self.path("rotated." + suffix), os.path.join(live, "new." + suffix))
            os.rename(os.path.join(live, "new." + suffix), os.path.join(live, "server." + suffix))
        time.sleep(1.3)  # the files are checked at most once per second, at a new handshake
        deadline = time.time() + 10
        served = self.served_certificate(server.port)
        while served != self.certificate_of("rotated") and time.time() < deadline:
            time.sleep(0.3)
            served = self.served_certificate(server.port)
        self.assertEqual(served, self.certificate_of("rotated"))
        server.etcdctl("put", "after-rotation", "ok", tls=self.client_tls())  # etcdctl verifies the new one
        self.assertIn(b'"health":"true"', health(old))  # the old connection still works...
        self.assertEqual(old.getpeercert(binary_form=True), old_der)  # ...with its old certificate
        self.assertTrue(server.log_lines("TLS files changed; new connections use the new certificate"))

    def test_handshake_timeout_and_cap(self):
        server = self.server(["--cert-file", self.path("server.crt"), "--key-file", self.path("server.key")],
                             extra_args=["--shards", "1"])
        server.start(health_args=["--cacert", self.path("ca.crt")])
        idle = []
        try:
            started = time.time()
            for _ in range(HANDSHAKES_PER_SHARD):  # connect, say nothing: each holds a handshake slot
                idle.append(socket.create_connection(("127.0.0.1", server.port), timeout=5))
            time.sleep(0.5)  # every one accepted and waiting in its handshake
            extra = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            extra.settimeout(3)
            t0 = time.time()
            self.assertEqual(extra.recv(1), b"", "a handshake over the cap was not refused")
            self.assertLess(time.time() - t0, 2.5)
            extra.close()
            cap_lines = [e for e in server.log_lines("rejected connection") if "too many TLS handshakes" in e["error"]]
            self.assertEqual(len(cap_lines), 1)
            # The idle ones are closed at the handshake timeout.
            idle[0].settimeout(HANDSHAKE_TIMEOUT_S + 5)
            self.assertEqual(idle[0].recv(1), b"")
            elapsed = time.time() - started
            self.assertGreater(elapsed, HANDSHAKE_TIMEOUT_S - 1)
            self.assertLess(elapsed, HANDSHAKE_TIMEOUT_S + 5)
        finally:
            for s in idle:
                s.close()
        time.sleep(0.5)
        server.etcdctl("put", "after", "cap", tls=["--cacert", self.path("ca.crt")])


class StartupErrors(WithPki):
    def run_ringkv(self, *args):
        data_dir = tempfile.mkdtemp(prefix="ringkv-tls-bad-", dir="/tmp")
        port = free_port()
        try:
            return subprocess.run([RINGKV, "--data-dir", data_dir, "--listen-client-urls", "https://127.0.0.1:%d" % port,
                                   "--advertise-client-urls", "https://127.0.0.1:%d" % port] + list(args),
                                  capture_output=True, text=True, timeout=30)
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)

    def test_etcd_messages(self):
        p = self.path
        cases = [
            ([], "TLS key/cert (--cert-file, --key-file) must be provided for client url https://127.0.0.1:"),
            (["--cert-file", "/nonexistent.crt", "--key-file", "/nonexistent.key"],
             "open /nonexistent.crt: no such file or directory"),
            (["--cert-file", p("server.crt"), "--key-file", p("client.key")], "tls: private key does not match public key"),
            (["--cert-file", p("server.crt"), "--key-file", p("server.key"), "--trusted-ca-file", "/nonexistent.ca"],
             "open /nonexistent.ca: no such file or directory"),
            (["--auto-tls", "--cipher-suites", "FOO"], 'unexpected TLS cipher suite \\"FOO\\"'),
            (["--auto-tls", "--peer-cert-file", p("server.crt")],
             "KeyFile and CertFile must both be present[key: , cert: %s]" % p("server.crt")),
            (["--auto-tls", "--listen-peer-urls", "https://127.0.0.1:1"],
             "cannot listen on TLS for 127.0.0.1:1: KeyFile and CertFile are not presented"),
            (["--auto-tls", "--peer-cert-file", "/nonexistent.crt", "--peer-key-file", "/nonexistent.key"],
             "open /nonexistent.crt: no such file or directory"),
            (["--auto-tls", "--peer-cert-file", p("server.crt"), "--peer-key-file", p("client.key")],
             "tls: private key does not match public key"),
            (["--auto-tls", "--peer-cert-file", p("server.crt"), "--peer-key-file", p("server.key"),
              "--peer-trusted-ca-file", "/nonexistent.ca"], "open /nonexistent.ca: no such file or directory"),
        ]
        for args, message in cases:
            out = self.run_ringkv(*args)
            self.assertNotEqual(out.returncode, 0, args)
            self.assertIn(message, out.stdout + out.stderr, args)


if __name__ == "__main__":
    unittest.main()
