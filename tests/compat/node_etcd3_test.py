"""tests/compat/node_etcd3_test.py - the npm `etcd3` client (node, @grpc/grpc-js) against a real ringkv.

Usage (meson does this): node_etcd3_test.py RINGKV_BINARY --install-dir DIR [--against-etcd]
  1. installs the pinned client (tests/compat/node_etcd3_package/package.json + package-lock.json) with
     `npm ci --prefix DIR --no-audit --no-fund --ignore-scripts`, unless DIR already holds exactly that
     install (a second run reuses it). node and npm (Node.js 20 from nodesource) must be on PATH: a missing
     one FAILS the test with a message saying what to install - a skip would hide a broken promise;
  2. starts ringkv (tests/server/ringkv_process.py) - or, with --against-etcd, a real etcd 3.4, to check
     that every expectation of the node script holds against etcd as well;
  3. runs node_etcd3_test.js against it. The script asks for a server restart mid-way by printing
     RESTART_SERVER_LINE; this driver restarts the server (same port, same data) and answers on stdin.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "server"))
import ringkv_process  # noqa: E402  (takes the binary from argv[1])
from ringkv_process import RingkvServer, free_port  # noqa: E402

PACKAGE_DIR = os.path.join(HERE, "node_etcd3_package")
PACKAGE_FILES = ("package.json", "package-lock.json")
SCRIPT = os.path.join(HERE, "node_etcd3_test.js")
NPM_INSTALL_TIMEOUT_S = 240  # + SCRIPT_TIMEOUT_S stays under the meson timeout (420 s)
SCRIPT_TIMEOUT_S = 150
RESTART_SERVER_LINE = "RESTART_SERVER"


def fail(message):
    sys.stderr.write("node_etcd3_test: FAILED: %s\n" % message)
    sys.exit(1)


def require_tool(name):
    path = shutil.which(name)
    if path is None:
        fail("`%s` is not on PATH. This test runs the npm etcd3 client and needs Node.js >= 18 with npm: "
             "install nodejs from nodesource (https://github.com/nodesource/distributions; it includes npm) - "
             "not Debian's `npm` package, which conflicts with nodesource's nodejs." % name)
    return path


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def installed_matches(install_dir):
    """True if install_dir holds an install of exactly our package files that npm completed."""
    for name in PACKAGE_FILES:
        if read(os.path.join(install_dir, name)) != read(os.path.join(PACKAGE_DIR, name)):
            return False
    # npm writes node_modules/.package-lock.json last; etcd3's own package.json must be there too
    return all(os.path.exists(os.path.join(install_dir, "node_modules", p))
               for p in (".package-lock.json", os.path.join("etcd3", "package.json")))


def install_client(install_dir):
    node = require_tool("node")
    npm = require_tool("npm")
    if installed_matches(install_dir):
        return node
    os.makedirs(install_dir, exist_ok=True)
    for name in PACKAGE_FILES:
        shutil.copyfile(os.path.join(PACKAGE_DIR, name), os.path.join(install_dir, name))
    command = [npm, "ci", "--prefix", install_dir, "--no-audit", "--no-fund", "--ignore-scripts",
               "--loglevel=error"]
    sys.stderr.write("installing the npm etcd3 client: %s\n" % " ".join(command))
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=NPM_INSTALL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        fail("`%s` did not finish within %d s (is registry.npmjs.org reachable?)" % (" ".join(command),
                                                                                    NPM_INSTALL_TIMEOUT_S))
    if result.returncode != 0 or not installed_matches(install_dir):
        fail("`%s` failed (exit %d):\n%s%s" % (" ".join(command), result.returncode, result.stdout,
                                                 result.stderr))
    return node


def reference_etcd():
    """A real etcd 3.4 run by RingkvServer (etcd takes the same flags; it also needs a free peer port)."""
    etcd = shutil.which("etcd")
    if etcd is None:
        fail("--against-etcd needs `etcd` 3.4 on PATH (Debian etcd-server)")
    ringkv_process.RINGKV = etcd
    peer_url = "http://127.0.0.1:%d" % free_port()
    return RingkvServer(extra_args=["--name", "node-compat", "--listen-peer-urls", peer_url,
                                    "--initial-advertise-peer-urls", peer_url,
                                    "--initial-cluster", "node-compat=" + peer_url])


def run_script(node, install_dir, server):
    env = dict(os.environ, NODE_PATH=os.path.join(install_dir, "node_modules"))
    proc = subprocess.Popen([node, SCRIPT, server.endpoint], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env=env, bufsize=1)
    watchdog = threading.Timer(SCRIPT_TIMEOUT_S, proc.kill)  # by PID (a Popen child)
    watchdog.start()
    try:
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            if line.strip() == RESTART_SERVER_LINE:
                server.restart()
                proc.stdin.write("restarted\n")
                proc.stdin.flush()
        code = proc.wait()
        if not watchdog.is_alive():
            fail("the node script did not finish within %d s" % SCRIPT_TIMEOUT_S)
        return code
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--install-dir", required=True, help="where npm installs the client (build dir)")
    parser.add_argument("--against-etcd", action="store_true", help="run the script against a real etcd 3.4")
    args = parser.parse_args()
    node = install_client(os.path.abspath(args.install_dir))
    node_version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    with open(os.path.join(args.install_dir, "node_modules", "etcd3", "package.json")) as f:
        client_version = json.load(f)["version"]
    sys.stdout.write("node %s, npm etcd3 %s\n" % (node_version, client_version))
    server = reference_etcd() if args.against_etcd else RingkvServer()
    code = None
    try:
        server.start()
        code = run_script(node, os.path.abspath(args.install_dir), server)
    finally:
        if args.against_etcd:
            server.stop()  # etcd dies of SIGTERM (-15) where ringkv exits 0, which cleanup() insists on
        server.cleanup()
    if code != 0:
        fail("the node script failed (exit %s); see its output above" % code)


if __name__ == "__main__":
    main()
