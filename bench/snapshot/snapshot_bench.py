#!/usr/bin/env python3
"""bench/snapshot/snapshot_bench.py - `etcdctl snapshot save` against ringkv and real etcd 3.4.

    bench/snapshot/snapshot_bench.py [--keys 1000000] [--out bench/results/<date>-snapshot]
                                     [--servers ringkv,etcd] [--ringkv-bin PATH]

For each server (one member, fsync on, data dir under /tmp): fill --keys keys (32 B keys, 256 B values)
with ringkv-bench, then
  1. puts alone for --put-seconds at --put-rate/s (open loop): their p99 without a snapshot;
  2. the same puts while `etcdctl snapshot save` runs (started 1 s in): the save's wall time, the file
     size, the server's RSS before and its peak during the save (VmRSS polled every 20 ms), the p99.
Every server is stopped by its PID. Writes results.json and README.md into --out, and prints the table.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "compare"))
import compare  # noqa: E402  (paths, machine_info)

KEY_BYTES, VALUE_BYTES = 32, 256
RINGKV_BIN = compare.RINGKV_BIN if os.path.exists(compare.RINGKV_BIN) else \
    os.path.join(compare.BUILD, "server", "process", "ringkv")


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def start_server(kind, data_dir, client_port, peer_port, ringkv_bin=RINGKV_BIN):
    binary = ringkv_bin if kind == "ringkv" else "etcd"
    client, peer = "http://127.0.0.1:%d" % client_port, "http://127.0.0.1:%d" % peer_port
    args = [binary, "--name", "bench", "--data-dir", data_dir, "--listen-client-urls", client,
            "--advertise-client-urls", client, "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", "bench=" + peer, "--quota-backend-bytes", str(8 << 30)]
    if kind == "ringkv":
        args += ["--shards", "1"]
    log = open(data_dir + ".log", "w")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 30
    while time.time() < deadline:
        r = subprocess.run(["etcdctl", "--endpoints", client, "endpoint", "health"], capture_output=True,
                           env=dict(os.environ, ETCDCTL_API="3"))
        if r.returncode == 0:
            return proc, client
        time.sleep(0.3)
    proc.terminate()
    raise RuntimeError(kind + " did not become healthy")


def bench(endpoint, args, pid):
    command = [compare.BENCH_BIN, "--endpoints=" + endpoint.replace("http://", ""), "--json",
               "--server-pids=%d" % pid] + args
    r = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        raise RuntimeError("ringkv-bench failed: " + r.stderr[-500:])
    return json.loads(r.stdout.strip().splitlines()[-1])["results"][-1]


def puts(endpoint, pid, keys, rate, seconds):
    return bench(endpoint, ["--conns=2", "--clients=16", "--rate=%d" % rate, "--duration=%ds" % seconds, "put",
                            "--key-size=%d" % KEY_BYTES, "--val-size=%d" % VALUE_BYTES,
                            "--key-space-size=%d" % keys], pid)


def measure(kind, keys, rate, seconds, root, ringkv_bin):
    data_dir = os.path.join(root, kind)
    proc, endpoint = start_server(kind, data_dir, 24790 + (kind == "etcd") * 10, 24791 + (kind == "etcd") * 10,
                                  ringkv_bin)
    try:
        started = time.monotonic()
        bench(endpoint, ["--conns=4", "--clients=64", "put", "--total=%d" % keys, "--key-size=%d" % KEY_BYTES,
                         "--val-size=%d" % VALUE_BYTES, "--sequential-keys", "--key-space-size=%d" % keys], proc.pid)
        fill_s = time.monotonic() - started
        alone = puts(endpoint, proc.pid, keys, rate, seconds)
        rss_before = rss_kib(proc.pid)
        peak = [rss_before]
        saving = threading.Event()
        result = {}

        def save():
            time.sleep(1)
            path = os.path.join(root, kind + ".snap.db")
            saving.set()
            t0 = time.monotonic()
            r = subprocess.run(["etcdctl", "--endpoints", endpoint, "--command-timeout=600s", "snapshot", "save",
                                path], capture_output=True, text=True, env=dict(os.environ, ETCDCTL_API="3"))
            result["save_s"] = time.monotonic() - t0
            result["save_ok"] = r.returncode == 0
            result["save_output"] = (r.stdout + r.stderr).strip().splitlines()[-1:]
            result["file_bytes"] = os.path.getsize(path) if os.path.exists(path) else 0
            status = subprocess.run(["etcdctl", "snapshot", "status", path, "-w", "json"], capture_output=True,
                                    text=True, env=dict(os.environ, ETCDCTL_API="3"))
            result["status"] = json.loads(status.stdout) if status.returncode == 0 else status.stderr.strip()
            saving.clear()
            if os.path.exists(path):
                os.unlink(path)

        saver = threading.Thread(target=save)
        saver.start()
        sampler_stop = threading.Event()

        def sample():
            while not sampler_stop.is_set():
                if saving.is_set():
                    peak[0] = max(peak[0], rss_kib(proc.pid))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        during = puts(endpoint, proc.pid, keys, rate, seconds)
        saver.join()
        sampler_stop.set()
        sampler.join()
        return {"server": kind, "keys": keys, "fill_s": round(fill_s, 1), "rss_before_mib": round(rss_before / 1024, 1),
                "rss_peak_during_save_mib": round(peak[0] / 1024, 1),
                "rss_growth_mib": round((peak[0] - rss_before) / 1024, 1),
                "save_s": round(result["save_s"], 2), "save_ok": result["save_ok"], "save_output": result["save_output"],
                "file_mib": round(result["file_bytes"] / 2**20, 1), "status": result["status"],
                "put_p99_ms_alone": round(alone["latency_us"]["p99"] / 1000, 2),
                "put_max_ms_alone": round(alone["latency_us"].get("max", 0) / 1000, 2),
                "put_p99_ms_during_save": round(during["latency_us"]["p99"] / 1000, 2),
                "puts_ok_during_save": during["requests_ok"]}
    finally:
        compare.stop_by_pid(proc)
        with open(data_dir + ".log", errors="replace") as log:  # the raft snapshots the fill and puts made
            snapshots = [line.strip() for line in log if "saved snapshot" in line]
        print("%s: %s" % (kind, "\n  ".join(snapshots[-3:])), file=sys.stderr)


def table(rows):
    lines = ["| server | keys | fill s | snapshot save s | file MiB | RSS before MiB | RSS peak during save MiB | "
             "RSS growth MiB | put p99 ms alone | put p99 ms during save |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append("| %s | %d | %.1f | %.2f | %.1f | %.1f | %.1f | %.1f | %.2f | %.2f |" % (
            r["server"], r["keys"], r["fill_s"], r["save_s"], r["file_mib"], r["rss_before_mib"],
            r["rss_peak_during_save_mib"], r["rss_growth_mib"], r["put_p99_ms_alone"], r["put_p99_ms_during_save"]))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=1000000)
    parser.add_argument("--put-rate", type=int, default=1000)
    parser.add_argument("--put-seconds", type=int, default=15)
    parser.add_argument("--servers", default="ringkv,etcd", help="which servers to measure, in order")
    parser.add_argument("--ringkv-bin", default=RINGKV_BIN, help="the ringkv binary (e.g. a build from before a change)")
    parser.add_argument("--out", default=os.path.join(compare.REPO, "bench", "results",
                                                      time.strftime("%Y-%m-%d") + "-snapshot"))
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="ringkv-snapbench-", dir="/tmp")
    try:
        rows = [measure(kind, args.keys, args.put_rate, args.put_seconds, root, args.ringkv_bin)
                for kind in args.servers.split(",")]
    finally:
        shutil.rmtree(root, ignore_errors=True)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"machine": compare.machine_info("/tmp"), "args": vars(args), "rows": rows}, f, indent=1)
    text = table(rows)
    with open(os.path.join(args.out, "README.md"), "w") as f:
        f.write("# `etcdctl snapshot save`: ringkv vs etcd 3.4\n\n`%s`\n\n%s\n\nPuts: open loop at %d/s for %d s, "
                "%d B keys, %d B values, over the filled key space; the save starts 1 s into the second run.\n"
                % (" ".join(sys.argv), text, args.put_rate, args.put_seconds, KEY_BYTES, VALUE_BYTES))
    print(text)


if __name__ == "__main__":
    main()
