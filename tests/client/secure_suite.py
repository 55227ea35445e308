"""tests/client/secure_suite.py - the client library over TLS with etcd auth (the *Secure* cases of
tests/client/client_test), once against ringkv (argv[1]) and, with --etcd, against a real etcd 3.4: one
member on https://127.0.0.1:<free port> with certificates made by the openssl CLI for this run (a CA, a
server certificate for 127.0.0.1, a client certificate), client certificates required
(--trusted-ca-file), auth enabled with a user `app` whose role may read and write the prefix "app/", and
--auth-token-ttl 1 so that the client's token expires within the test and must be renewed.
The C++ cases get the endpoint, the files and the user in RINGKV_CLIENT_* variables. The member is
stopped by PID and its files removed.

usage: secure_suite.py <ringkv binary> <client_test binary> [--etcd]
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))
import ringkv_process  # noqa: E402  (takes the ringkv binary from argv[1])
from ringkv_process import free_port  # noqa: E402
from tls_test import CLIENT_EXT, SERVER_EXT, make_ca, make_key_and_csr, sign  # noqa: E402

CLIENT_TEST = os.path.abspath(sys.argv[1])
USE_ETCD = "--etcd" in sys.argv[2:]
TOKEN_TTL_S = 1


def make_pki():
    pki = tempfile.mkdtemp(prefix="ringkv-client-tls-", dir="/tmp")
    make_ca(pki, "ca", "/CN=ringkv-client-test-ca")
    make_key_and_csr(pki, "server", "/CN=ringkv-server")
    sign(pki, "server", "ca", SERVER_EXT)
    make_key_and_csr(pki, "client", "/CN=tls-client")  # not a user: auth comes from the token
    sign(pki, "client", "ca", CLIENT_EXT)
    make_ca(pki, "other-ca", "/CN=another-ca")  # a CA the server's certificate does not chain to
    return pki


def member_command(pki, data_dir, port):
    url = "https://127.0.0.1:%d" % port
    files = lambda name: os.path.join(pki, name)  # noqa: E731
    args = ["--data-dir", data_dir, "--listen-client-urls", url, "--advertise-client-urls", url,
            "--cert-file", files("server.crt"), "--key-file", files("server.key"),
            "--trusted-ca-file", files("ca.crt"), "--auth-token-ttl", str(TOKEN_TTL_S), "--bcrypt-cost", "4"]
    if not USE_ETCD:
        return [ringkv_process.RINGKV] + args
    peer = "http://127.0.0.1:%d" % free_port()
    return ["etcd", "--name", "default", "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", "default=" + peer] + args


def etcdctl(pki, port, *args, user=None):
    command = ["etcdctl", "--endpoints", "https://127.0.0.1:%d" % port, "--dial-timeout", "2s",
               "--command-timeout", "4s", "--cacert", os.path.join(pki, "ca.crt"),
               "--cert", os.path.join(pki, "client.crt"), "--key", os.path.join(pki, "client.key")]
    if user:
        command += ["--user", user]
    return subprocess.run(command + list(args), capture_output=True, text=True, timeout=20,
                          env=dict(os.environ, ETCDCTL_API="3"))


def set_up_auth(pki, port):
    deadline = time.time() + 20
    while True:  # the first command also waits for the member to serve
        added = etcdctl(pki, port, "user", "add", "root:rootpw")
        if added.returncode == 0:
            break
        if time.time() > deadline:
            raise AssertionError("the member did not serve over TLS: " + added.stderr)
        time.sleep(0.2)
    for args in (["user", "grant-role", "root", "root"], ["role", "add", "app-role"],
                 ["role", "grant-permission", "app-role", "readwrite", "app/", "--prefix"],
                 ["user", "add", "app:app-password"], ["user", "grant-role", "app", "app-role"], ["auth", "enable"]):
        done = etcdctl(pki, port, *args)
        if done.returncode != 0:
            raise AssertionError("etcdctl %s: %s" % (" ".join(args), done.stderr))


def main():
    pki = make_pki()
    data_dir = tempfile.mkdtemp(prefix="ringkv-client-tls-data-", dir="/tmp")
    port = free_port()
    log = open(data_dir + ".log", "ab")
    member = subprocess.Popen(member_command(pki, data_dir, port), stdout=log, stderr=subprocess.STDOUT)
    code = 1
    try:
        set_up_auth(pki, port)
        env = dict(os.environ, RINGKV_CLIENT_ENDPOINTS="127.0.0.1:%d" % port,
                   RINGKV_CLIENT_CACERT=os.path.join(pki, "ca.crt"),
                   RINGKV_CLIENT_OTHER_CACERT=os.path.join(pki, "other-ca.crt"),
                   RINGKV_CLIENT_CERT=os.path.join(pki, "client.crt"),
                   RINGKV_CLIENT_KEY=os.path.join(pki, "client.key"),
                   RINGKV_CLIENT_USER="app", RINGKV_CLIENT_PASSWORD="app-password",
                   RINGKV_CLIENT_TOKEN_TTL_S=str(TOKEN_TTL_S))
        code = subprocess.run([CLIENT_TEST, "--gtest_filter=*Secure*"], env=env, timeout=120).returncode
    finally:
        member.terminate()
        try:
            member.wait(15)
        except subprocess.TimeoutExpired:
            member.kill()
            member.wait()
        log.close()
        if code != 0:
            with open(data_dir + ".log", "rb") as f:
                sys.stdout.write(f.read().decode(errors="replace")[-4000:])
        os.unlink(data_dir + ".log")
        shutil.rmtree(data_dir, ignore_errors=True)
        shutil.rmtree(pki, ignore_errors=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
