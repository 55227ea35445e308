#!/usr/bin/env python3
"""bench/tls/handshake_rate.py - TLS handshakes per second on the client port, ringkv vs etcd 3.4, one run.

    bench/tls/handshake_rate.py [--seconds 5] [--out bench/results/<date>-tls-handshakes]

Both servers get the same certificates (bench/compare/compare.py's make_tls_pki: ECDSA P-256, client
certificates required) and run one member each, in turn, on loopback. `openssl s_time` (the OpenSSL CLI)
connects for --seconds: with -new every connection makes a full handshake; with -reuse it resumes the
first connection's session (session resumption). Every server is stopped by its PID. Prints and writes a
table: connections per second for each server and mode, and ringkv's ratio to etcd.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "compare"))
import compare  # noqa: E402  (make_tls_pki, RINGKV_BIN, machine_info, REPO)


def start(kind, pki, data_dir, client_port, peer_port):
    p = lambda name: os.path.join(pki, name)  # noqa: E731
    client, peer = "https://127.0.0.1:%d" % client_port, "http://127.0.0.1:%d" % peer_port
    binary = compare.RINGKV_BIN if kind == "ringkv" else "etcd"
    args = [binary, "--name", "hs", "--data-dir", data_dir, "--listen-client-urls", client,
            "--advertise-client-urls", client, "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", "hs=" + peer, "--cert-file", p("server.crt"), "--key-file", p("server.key"),
            "--trusted-ca-file", p("ca.crt"), "--client-cert-auth"]
    if kind == "ringkv":
        args += ["--shards", "1"]  # one core for the server, one for openssl: the same split for etcd's threads
    log = open(data_dir + ".log", "w")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    tls = ["--cacert", p("ca.crt"), "--cert", p("client.crt"), "--key", p("client.key")]
    deadline = time.time() + 30
    while time.time() < deadline:
        r = subprocess.run(["etcdctl", "--endpoints", client, "endpoint", "health"] + tls, capture_output=True,
                           env=dict(os.environ, ETCDCTL_API="3"))
        if r.returncode == 0:
            return proc
        time.sleep(0.3)
    proc.kill()
    proc.wait()
    raise RuntimeError(kind + " did not become healthy over TLS")


def s_time(pki, port, mode, seconds):
    p = lambda name: os.path.join(pki, name)  # noqa: E731
    r = subprocess.run(["openssl", "s_time", "-connect", "127.0.0.1:%d" % port, "-" + mode, "-time", str(seconds),
                        "-CAfile", p("ca.crt"), "-cert", p("client.crt"), "-key", p("client.key")],
                       capture_output=True, text=True, timeout=seconds * 4 + 30)
    m = re.search(r"(\d+) connections in ([\d.]+)s; ([\d.]+) connections/user sec", r.stdout)
    if not m:
        raise RuntimeError("openssl s_time printed no result:\n" + r.stdout[-800:] + r.stderr[-800:])
    connections, real_s = int(m.group(1)), float(m.group(2))
    return {"connections": connections, "seconds": real_s, "per_second": round(connections / real_s, 1)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--out", default=os.path.join(compare.REPO, "bench", "results",
                                                      time.strftime("%Y-%m-%d") + "-tls-handshakes"))
    args = parser.parse_args()
    pki = compare.make_tls_pki()
    root = tempfile.mkdtemp(prefix="ringkv-handshakes-", dir="/tmp")
    rows = {}
    try:
        for i, kind in enumerate(("etcd", "ringkv")):
            port = 24890 + 10 * i
            proc = start(kind, pki, os.path.join(root, kind), port, port + 1)
            try:
                rows[kind] = {mode: s_time(pki, port, mode, args.seconds) for mode in ("new", "reuse")}
            finally:
                compare.stop_by_pid(proc)
    finally:
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(pki, ignore_errors=True)
    lines = ["| mode | etcd handshakes/s | ringkv handshakes/s | ratio |", "|---|---:|---:|---:|"]
    for mode, title in (("new", "full handshake (-new)"), ("reuse", "session resumption (-reuse)")):
        e, r = rows["etcd"][mode]["per_second"], rows["ringkv"][mode]["per_second"]
        lines.append("| %s | %.0f | %.0f | %.2f× |" % (title, e, r, r / e if e else 0))
    text = "\n".join(lines)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"machine": compare.machine_info("/tmp"), "args": vars(args), "rows": rows}, f, indent=1)
    with open(os.path.join(args.out, "README.md"), "w") as f:
        f.write("# TLS handshakes per second on the client port: ringkv vs etcd 3.4\n\n`%s`\n\n%s\n\n"
                "`openssl s_time` for %d s per mode; ECDSA P-256 certificates, client certificates required; "
                "one member each, ringkv with --shards 1.\n" % (" ".join(sys.argv), text, args.seconds))
    print(text)


if __name__ == "__main__":
    main()
