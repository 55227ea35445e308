#!/usr/bin/env python3
"""Means of the alternated quick-matrix runs in this directory: ringkv req/s and server CPU µs/request per
workload, uring before (main 1b92cce, build-base/) vs uring after (branch epoll) vs the epoll backend
(same binary as after, ETCD_IO_BACKEND=epoll: the server's --io-backend, not the load generator's).
Usage: python3 summarize.py [DIR]  (prints a markdown table)"""
import glob
import json
import os
import statistics
import sys

here = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
groups = {"uring-before": [], "uring-after": [], "epoll-after": []}
for path in sorted(glob.glob(os.path.join(here, "*", "results.json"))):
    name = os.path.basename(os.path.dirname(path))
    group = name.rsplit("-", 1)[0]
    if group in groups:
        groups[group].append(json.load(open(path))["results"]["1"]["ringkv"])


def values(runs, workload, field):
    out = []
    for run in runs:
        result = run.get(workload, {})
        if result.get("served"):
            out.append(result["summary"]["results"][-1].get(field))
    return [v for v in out if v is not None]


workloads = list(groups["uring-before"][0].keys()) if groups["uring-before"] else []
print("| workload | uring before req/s | uring after req/s | after/before | epoll req/s | epoll/after |"
      " server CPU µs/req before / after / epoll |")
print("|---|---:|---:|---:|---:|---:|---|")
for w in workloads:
    rate = {g: values(r, w, "requests_per_s") for g, r in groups.items()}
    cpu = {g: values(r, w, "server_cpu_us_per_request") for g, r in groups.items()}
    mean = {g: statistics.mean(v) if v else float("nan") for g, v in rate.items()}
    cmean = {g: statistics.mean(v) if v else float("nan") for g, v in cpu.items()}
    runs = " / ".join(f"{x:,.0f}" for x in rate["uring-before"])
    print(f"| {w} | {mean['uring-before']:,.0f} ({runs}) | {mean['uring-after']:,.0f} "
          f"({' / '.join(f'{x:,.0f}' for x in rate['uring-after'])}) | "
          f"{mean['uring-after'] / mean['uring-before']:.2f} | {mean['epoll-after']:,.0f} "
          f"({' / '.join(f'{x:,.0f}' for x in rate['epoll-after'])}) | "
          f"{mean['epoll-after'] / mean['uring-after']:.2f} | "
          f"{cmean['uring-before']:.1f} / {cmean['uring-after']:.1f} / {cmean['epoll-after']:.1f} |")
print(f"\nruns per column: {', '.join(f'{g} {len(r)}' for g, r in groups.items())}")
