#!/usr/bin/env python3
"""The first row of issue 16's table, against real etcd 3.4 and ringkv in one run: what stalled watchers
cost the writers and the server's memory.

    bench/fairness/slow_watchers.py                     # 1,000 stalled streams, 50,000 puts 8x64
    bench/fairness/slow_watchers.py --streams 20 --puts 2000 --conns 2 --clients 8   # a smoke run

Run it on a quiet machine: the numbers mean nothing while other work shares the cores.

For each server (single member, started and stopped by PID with bench/compare/compare.py's helpers):
  1. baseline: ringkv-bench put --total PUTS (8 B keys, 256 B values) -> puts/s, p50/p99/max, RSS;
  2. stalled: tests/server/stalled_watch_client.py opens STREAMS watch streams on all keys over CHANNELS
     connections, is stopped with SIGSTOP, and the same puts run again while RSS is sampled (peak);
  3. the client is killed (SIGKILL by PID) and RSS is read again after SETTLE_S: what the server kept.
Prints one table (etcd and ringkv side by side, with ratios to each one's own baseline) and writes the raw
figures as JSON to --out if given.
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "bench", "compare"))
import compare  # noqa: E402  (server_cluster, run_workload, pick_ports, client_endpoints)

CLIENT = os.path.join(REPO, "tests", "server", "stalled_watch_client.py")
PUT_FLAGS = ["--key-size=8", "--val-size=256", "--sequential-keys", "--key-space-size=100000"]
RSS_SAMPLE_S = 0.05
SETTLE_S = 2.0
CLIENT_READY_TIMEOUT_S = 120


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1)) * 1024


class rss_sampler:
    """Samples a process's RSS on a thread until stopped; keeps the peak."""

    def __init__(self, pid):
        self.pid, self.peak, self.running = pid, rss_bytes(pid), True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while self.running:
            try:
                self.peak = max(self.peak, rss_bytes(self.pid))
            except (OSError, AttributeError):
                return
            time.sleep(RSS_SAMPLE_S)

    def stop(self):
        self.running = False
        self.thread.join()
        return self.peak


def puts(args, server_pid):
    """One ringkv-bench put run; returns its headline (requests_per_s, latency_us, errors) or a reason."""
    result = compare.run_workload(1, args.conns, args.clients, ["put", f"--total={args.puts}"] + PUT_FLAGS,
                                  args.timeout_s, [server_pid])
    if not result["served"]:
        return {"reason": result["reason"]}
    return compare.headline(result)


def start_stalled_client(args):
    """The watch client, ready (every watcher created) and then stopped; returns its Popen."""
    client = subprocess.Popen(["/usr/bin/python3", CLIENT, compare.grpc_target(), str(args.streams),
                               str(args.channels), "0"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    ready = {}
    reader = threading.Thread(target=lambda: ready.update(json.loads(client.stdout.readline() or "{}")), daemon=True)
    reader.start()
    reader.join(CLIENT_READY_TIMEOUT_S)
    if ready.get("ready") != args.streams:
        kill(client)
        raise RuntimeError("the stalled watch client did not get ready")
    os.kill(client.pid, signal.SIGSTOP)
    return client


def kill(process):
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)  # also ends a stopped process
        process.wait()


def measure(args, pid):
    figures = {"rss_start": rss_bytes(pid)}
    figures["baseline"] = puts(args, pid)
    figures["rss_baseline"] = rss_bytes(pid)
    client = start_stalled_client(args)
    try:
        figures["rss_watchers_ready"] = rss_bytes(pid)
        sampler = rss_sampler(pid)
        figures["stalled"] = puts(args, pid)
        figures["rss_stalled_peak"] = sampler.stop()
        figures["rss_stalled_end"] = rss_bytes(pid)
    finally:
        kill(client)
    time.sleep(SETTLE_S)
    figures["rss_after_watchers_gone"] = rss_bytes(pid)
    return figures


def mib(n):
    return f"{n / 2**20:,.0f} MiB"


def row_cells(f):
    """Table cells for one server's figures."""
    b, s = f.get("baseline", {}), f.get("stalled", {})
    if "reason" in f or "requests_per_s" not in b or "requests_per_s" not in s:
        reason = f.get("reason") or b.get("reason") or s.get("reason") or "no figures"
        return [f"not measured: {reason}"] * 6
    bl, sl = b["latency_us"], s["latency_us"]
    errors = sum(e["count"] for e in s.get("errors", {}).values())
    return [
        f"{b['requests_per_s']:,.0f} -> {s['requests_per_s']:,.0f} (÷{b['requests_per_s'] / max(s['requests_per_s'], 1e-9):.2f})",
        f"{bl['p50'] / 1000:.2f} / {bl['p99'] / 1000:.2f} -> {sl['p50'] / 1000:.2f} / {sl['p99'] / 1000:.2f} ms "
        f"(x{sl['p99'] / max(bl['p99'], 1e-9):.2f})",
        f"{sl['max'] / 1000:.1f} ms",
        f"+{mib(f['rss_stalled_peak'] - f['rss_watchers_ready'])} (peak {mib(f['rss_stalled_peak'])})",
        f"+{mib(f['rss_after_watchers_gone'] - f['rss_watchers_ready'])}",
        str(errors),
    ]


def table(results, args):
    names = ["puts/s baseline -> stalled", "p50 / p99 baseline -> stalled", "slowest put stalled",
             "RSS while stalled (vs watchers ready)", "RSS kept after the watchers died", "errors"]
    cells = {kind: row_cells(f) for kind, f in results.items()}
    lines = [f"{args.streams} watch streams on all keys over {args.channels} connections, client SIGSTOPped, "
             f"then {args.puts} puts {args.conns}x{args.clients} (8 B keys, 256 B values)", "",
             "| | etcd 3.4 | ringkv |", "|---|---|---|"]
    for i, name in enumerate(names):
        lines.append(f"| {name} | {cells.get('etcd', ['—'] * 6)[i]} | {cells.get('ringkv', ['—'] * 6)[i]} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--channels", type=int, default=8, help="connections the watch streams share")
    parser.add_argument("--puts", type=int, default=50000)
    parser.add_argument("--conns", type=int, default=8)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--timeout-s", type=int, default=600, help="per ringkv-bench run")
    parser.add_argument("--build-dir", default=os.path.join(REPO, "build"))
    parser.add_argument("--etcd", default="etcd")
    parser.add_argument("--out", help="write the raw figures here (JSON)")
    args = parser.parse_args()
    compare.BENCH_BIN = os.path.join(args.build_dir, "ringkv-bench")
    results = compare.each_single_member([("etcd", args.etcd), ("ringkv", os.path.join(args.build_dir, "ringkv"))],
                                         "ringkv-slow-watchers-", lambda kind, pid: measure(args, pid))
    print(table(results, args))
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"args": vars(args), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
