#!/usr/bin/python3
"""Issue 19's auth row, against real etcd 3.4 and ringkv in one run: what auth costs put 16x256, and how
many Authenticate calls per second each server answers.

    bench/compare/auth_row.py                      # 100,000 puts per run
    bench/compare/auth_row.py --total 20000        # a shorter run

For each server (single member, started and stopped by PID with compare.py's helpers):
  1. ringkv-bench put 16x256 (compare.py's put flags) with auth off;
  2. root, a role with readwrite over every key, a user holding it, `auth enable` (gRPC Auth calls);
  3. the same puts with `--user` (each client authenticates once, simple tokens, the token on every put);
  4. Authenticate calls from AUTH_THREADS threads for AUTH_SECONDS (bcrypt at the default cost 10).
Run it on a quiet machine. Prints one table; --out writes the raw figures as JSON.
"""
import argparse
import json
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import compare  # noqa: E402

import grpc  # noqa: E402
from etcd3.etcdrpc import rpc_pb2, rpc_pb2_grpc, auth_pb2  # noqa: E402

AUTH_THREADS = 16
AUTH_SECONDS = 5.0
USER, PASSWORD = "app", "app-password"


def enable_auth(endpoint):
    with grpc.insecure_channel(endpoint) as channel:
        auth = rpc_pb2_grpc.AuthStub(channel)
        auth.UserAdd(rpc_pb2.AuthUserAddRequest(name="root", password="root-password"))
        auth.RoleAdd(rpc_pb2.AuthRoleAddRequest(name="root"))
        auth.UserGrantRole(rpc_pb2.AuthUserGrantRoleRequest(user="root", role="root"))
        auth.RoleAdd(rpc_pb2.AuthRoleAddRequest(name="writer"))
        everything = auth_pb2.Permission(permType=auth_pb2.Permission.READWRITE, key=b"\0", range_end=b"\0")
        auth.RoleGrantPermission(rpc_pb2.AuthRoleGrantPermissionRequest(name="writer", perm=everything))
        auth.UserAdd(rpc_pb2.AuthUserAddRequest(name=USER, password=PASSWORD))
        auth.UserGrantRole(rpc_pb2.AuthUserGrantRoleRequest(user=USER, role="writer"))
        auth.AuthEnable(rpc_pb2.AuthEnableRequest())


def authenticate_rate(endpoint):
    done, errors, stop = [0], [0], threading.Event()
    lock = threading.Lock()

    def worker():
        with grpc.insecure_channel(endpoint) as channel:
            auth = rpc_pb2_grpc.AuthStub(channel)
            while not stop.is_set():
                try:
                    auth.Authenticate(rpc_pb2.AuthenticateRequest(name=USER, password=PASSWORD), timeout=10)
                    with lock:
                        done[0] += 1
                except grpc.RpcError:
                    with lock:
                        errors[0] += 1
    threads = [threading.Thread(target=worker) for _ in range(AUTH_THREADS)]
    started = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(AUTH_SECONDS)
    stop.set()
    for t in threads:
        t.join()
    return {"per_s": done[0] / (time.monotonic() - started), "errors": errors[0]}


def measure(args, pid):
    figures = {}
    puts = ["put", f"--total={args.total}"] + compare.PUT_FLAGS
    figures["plain"] = compare.headline(compare.run_workload(1, 16, 256, puts, 900, [pid]))
    endpoint = compare.grpc_target()
    enable_auth(endpoint)
    figures["auth"] = compare.headline(compare.run_workload(1, 16, 256, puts + [f"--user={USER}:{PASSWORD}"], 900, [pid]))
    figures["authenticate"] = authenticate_rate(endpoint)
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--total", type=int, default=100000)
    parser.add_argument("--build-dir", default=os.path.join(REPO, "build"))
    parser.add_argument("--etcd", default="etcd")
    parser.add_argument("--out")
    args = parser.parse_args()
    compare.BENCH_BIN = os.path.join(args.build_dir, "ringkv-bench")
    results = compare.each_single_member([("etcd", args.etcd), ("ringkv", os.path.join(args.build_dir, "ringkv"))],
                                         "ringkv-auth-row-", lambda kind, pid: measure(args, pid))
    print(f"put 16x256 ({args.total:,} puts, 8 B keys, 256 B values), auth off vs on (simple tokens, a user "
          f"with readwrite over every key); Authenticate from {AUTH_THREADS} threads for {AUTH_SECONDS:.0f} s\n")
    print("| server | put/s auth off | put/s auth on | auth cost | p99 off / on ms | Authenticate/s |")
    print("|---|---|---|---|---|---|")
    for kind, f in results.items():
        off, on = f.get("plain"), f.get("auth")
        if not off or not on:
            print(f"| {kind} | not measured: {f.get('reason', 'no successful requests')} | | | | |")
            continue
        cost = 1 - on["requests_per_s"] / off["requests_per_s"]
        print(f"| {kind} | {compare.fmt_rate(off)} | {compare.fmt_rate(on)} | {cost:+.1%} | "
              f"{off['latency_us']['p99'] / 1000:.2f} / {on['latency_us']['p99'] / 1000:.2f} | "
              f"{f['authenticate']['per_s']:.1f} ({f['authenticate']['errors']} errors) |")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"args": vars(args), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
