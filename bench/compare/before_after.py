#!/usr/bin/env python3
"""bench/compare/before_after.py - one table from alternated compare.py runs of two builds.

    bench/compare/before_after.py before-1 after-1 before-2 after-2 ...

Each argument is a compare.py --out directory (its results.json) or such a results file; its name before
the first '-' is its side ("before" or "after"). For every (members, workload) row it prints ringkv's req/s and p99
for each side (mean over that side's runs, with the spread), the after/before ratio, and the same ratio
normalised by etcd's own drift between the runs (etcd ran in each run too: a row where etcd also moved
by the same amount is machine noise, not a change of ringkv), as a mean and as a median over the runs
(the median is not moved by one disturbed run).
"""
import json
import os
import statistics
import sys


def rows(path):
    data = json.load(open(path if path.endswith(".json") else os.path.join(path, "results.json")))
    out = {}
    for members, servers in data["results"].items():
        for server, workloads in servers.items():
            for name, run in workloads.items():
                if not run.get("served"):
                    continue
                s = run["summary"]["results"][0]
                out[(int(members), name, server)] = (s["requests_per_s"], s["latency_us"]["p99"] / 1000.0)
    return out


def main(paths):
    sides = {}
    for p in paths:
        side = os.path.basename(os.path.normpath(p)).split("-")[0]
        sides.setdefault(side, []).append(rows(p))
    before, after = sides["before"], sides["after"]
    keys = sorted({(m, n) for r in before + after for (m, n, s) in r if s == "ringkv"})
    print("| members | workload | ringkv req/s before | ringkv req/s after | after/before | etcd after/before |"
          " ringkv/etcd ratio before | ringkv/etcd ratio after | ratio change | median ratio change |"
          " p99 ms before | p99 ms after |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for m, n in keys:
        def vals(runs, server, i):
            return [r[(m, n, server)][i] for r in runs if (m, n, server) in r]
        rb, ra = vals(before, "ringkv", 0), vals(after, "ringkv", 0)
        eb, ea = vals(before, "etcd", 0), vals(after, "etcd", 0)
        pb, pa = vals(before, "ringkv", 1), vals(after, "ringkv", 1)
        if not (rb and ra and eb and ea):
            continue
        ratios_b = [x / y for x, y in zip(rb, eb)]
        ratios_a = [x / y for x, y in zip(ra, ea)]
        ratio_b, ratio_a = statistics.mean(ratios_b), statistics.mean(ratios_a)
        median_change = 100 * (statistics.median(ratios_a) / statistics.median(ratios_b) - 1)
        spread = lambda v: "±%.0f%%" % (100 * (max(v) - min(v)) / 2 / statistics.mean(v)) if len(v) > 1 else ""
        print("| %d | %s | %s %s | %s %s | %.3f | %.3f | %.2f× | %.2f× | %+.1f%% | %+.1f%% | %.2f | %.2f |" % (
            m, n, f"{statistics.mean(rb):,.0f}", spread(rb), f"{statistics.mean(ra):,.0f}", spread(ra),
            statistics.mean(ra) / statistics.mean(rb), statistics.mean(ea) / statistics.mean(eb),
            ratio_b, ratio_a, 100 * (ratio_a / ratio_b - 1), median_change, statistics.mean(pb), statistics.mean(pa)))


if __name__ == "__main__":
    main(sys.argv[1:])
