#!/usr/bin/env python3
"""Issue 16's `etcdctl get "" --prefix` row, against real etcd 3.4 and ringkv in one run: what one Range
over the whole key space costs the server's memory.

    bench/fairness/large_range.py                          # 1,000,000 keys (32 B keys, 256 B values)
    bench/fairness/large_range.py --keys 200000            # a shorter run
    bench/fairness/large_range.py --ringkv-bin OLD/ringkv  # another ringkv build (before/after)

For each server (single member, started and stopped by PID with bench/compare/compare.py's helpers):
fill with ringkv-bench put (sequential keys: each key once), read RSS, then `etcdctl get "" --prefix`
into /dev/null while RSS is sampled (peak), and RSS again SETTLE_S after it ended (what was kept).
Run it on a quiet machine. Prints one table; --out writes the raw figures as JSON.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "bench", "compare"))
sys.path.insert(0, HERE)
import compare  # noqa: E402
from slow_watchers import mib, rss_bytes, rss_sampler, SETTLE_S  # noqa: E402


def measure(args, pid):
    figures = {}
    fill = compare.run_workload(1, 8, 64, ["put", f"--total={args.keys}", "--key-size=32", "--val-size=256",
                                           "--sequential-keys", f"--key-space-size={args.keys}"], 3600, [pid])
    figures["fill"] = compare.headline(fill)
    time.sleep(SETTLE_S)
    figures["rss_filled"] = rss_bytes(pid)
    sampler = rss_sampler(pid)
    started = time.monotonic()
    with open(os.devnull, "w") as sink:
        r = subprocess.run(["etcdctl", "--endpoints", compare.client_endpoints(1), "--command-timeout=600s",
                            "get", "", "--prefix"], stdout=sink, stderr=subprocess.PIPE, text=True)
    figures["get_s"] = time.monotonic() - started
    figures["get_error"] = r.stderr.strip() if r.returncode != 0 else ""
    figures["rss_get_peak"] = sampler.stop()
    time.sleep(SETTLE_S)
    figures["rss_after"] = rss_bytes(pid)
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keys", type=int, default=1000000)
    parser.add_argument("--build-dir", default=os.path.join(REPO, "build"))
    parser.add_argument("--ringkv-bin", help="the ringkv to measure (default: BUILD_DIR/ringkv)")
    parser.add_argument("--etcd", default="etcd")
    parser.add_argument("--servers", default="etcd,ringkv")
    parser.add_argument("--out")
    args = parser.parse_args()
    compare.BENCH_BIN = os.path.join(args.build_dir, "ringkv-bench")
    binaries = {"etcd": args.etcd, "ringkv": args.ringkv_bin or os.path.join(args.build_dir, "ringkv")}
    results = compare.each_single_member([(kind, binaries[kind]) for kind in args.servers.split(",")],
                                         "ringkv-large-range-", lambda kind, pid: measure(args, pid))
    print(f"`etcdctl get \"\" --prefix` of {args.keys:,} keys (32 B keys, 256 B values), single member\n")
    print("| server | RSS filled | RSS peak during get | growth | kept after | get s | error |")
    print("|---|---|---|---|---|---|---|")
    for kind, f in results.items():
        if "rss_get_peak" not in f:
            print(f"| {kind} | not measured: {f.get('reason')} | | | | | |")
            continue
        print(f"| {kind} | {mib(f['rss_filled'])} | {mib(f['rss_get_peak'])} | +{mib(f['rss_get_peak'] - f['rss_filled'])} "
              f"| +{mib(f['rss_after'] - f['rss_filled'])} | {f['get_s']:.2f} | {f['get_error'] or '-'} |")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"args": vars(args), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
