#!/usr/bin/env python3
"""Side-by-side benchmark of real etcd 3.4 and ringkv with the same load generator, in one command.

    bench/compare/compare.py            # default matrix, 1 and 3 members (<= 15 minutes)
    bench/compare/compare.py --quick    # short matrix, 1 member (<= 3 minutes)
    bench/compare/compare.py --tls      # TLS rows: put 16x256 and range 8x64, both servers over TLS

For each topology it starts etcd, then ringkv, with equal settings (data dirs under one directory on one
disk, fsync on, the same loopback port layout), runs the same ringkv-bench workload matrix against each,
stops each server by PID, and writes bench/results/<date>/: README.md (table: etcd, ringkv, ratio; machine
info; commands), results.json (every raw ringkv-bench summary), PNG plots made with gnuplot.
A workload ringkv cannot serve yet is reported as such, never given a number.
Installs etcd-server / etcd-client / gnuplot-nox (Debian packages) when missing and running as root.
"""
import argparse
import datetime
import json
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(REPO, "build")          # --build-dir changes these three
BENCH_BIN = os.path.join(BUILD, "ringkv-bench")
RINGKV_BIN = os.path.join(BUILD, "ringkv")

CLIENT_PORT_BASE = 23790   # member i: client port BASE + 10*i, peer port BASE + 10*i + 1 (see pick_ports)
READY_TIMEOUT_S = 30
STOP_TIMEOUT_S = 15
PUT_FLAGS = ["--key-size=8", "--val-size=256", "--sequential-keys", "--key-space-size=100000"]
TLS_PKI = None  # --tls: the directory of make_tls_pki's files; every URL is then https


def log(message):
    print(f"[compare {time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------------------------------------------
# The workload matrix: (name, conns, clients, ringkv-bench arguments). Every run is bounded by
# --duration, so the whole matrix has a known length.
def workload_matrix(quick):
    seconds = 4 if quick else 12
    d = f"--duration={seconds}s"
    matrix = [
        ("put", 1, 1, ["put", d] + PUT_FLAGS),
        ("put", 1, 16, ["put", d] + PUT_FLAGS),
        ("put", 8, 64, ["put", d] + PUT_FLAGS),
        ("put", 16, 256, ["put", d] + PUT_FLAGS),
        ("range-lin", 8, 64, ["range", "foo", "--consistency=l", d]),
        ("range-ser", 8, 64, ["range", "foo", "--consistency=s", d]),
        ("txn-put", 8, 64, ["txn-put", d, "--key-size=8", "--val-size=256", "--key-space-size=100000"]),
    ]
    if quick:
        matrix.append(("watch", 4, 16, ["watch", "--streams=4", "--watch-per-stream=25", "--watched-key-total=10",
                                        "--put-total=400"]))
    else:
        matrix.append(("watch", 10, 64, ["watch", "--streams=10", "--watch-per-stream=100",
                                         "--watched-key-total=10", "--put-total=2000"]))
        matrix.append(("lease-keepalive", 8, 64, ["lease-keepalive", d]))
        matrix.append(("mixed-4r1w", 8, 64, ["mixed", "--rw-ratio=4", d] + PUT_FLAGS))
    return matrix


def tls_matrix(quick):
    """--tls: the issue's TLS rows, named apart from the plaintext ones."""
    rows = {("put", 16, 256), ("range-lin", 8, 64)}
    return [(name + "-tls", conns, clients, args) for name, conns, clients, args in workload_matrix(quick)
            if (name, conns, clients) in rows]


def make_tls_pki():
    """A CA, one certificate for 127.0.0.1 used by every server on both ports (serverAuth and clientAuth),
    and a client certificate; the same files for etcd and ringkv."""
    pki = tempfile.mkdtemp(prefix="ringkv-compare-tls-")

    def openssl(*args):
        subprocess.run(["openssl"] + list(args), cwd=pki, check=True, capture_output=True, timeout=60)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=compare-ca")
    for name, subject, ext in (("server", "/CN=member", "subjectAltName=IP:127.0.0.1\n"
                                "extendedKeyUsage=serverAuth,clientAuth\n"),
                               ("client", "/CN=root", "extendedKeyUsage=clientAuth\n")):
        with open(os.path.join(pki, name + ".ext"), "w") as f:
            f.write(ext)
        openssl("req", "-new", *ec, "-keyout", name + ".key", "-out", name + ".csr", "-subj", subject)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", name + ".crt", "-days", "2", "-extfile", name + ".ext")
    return pki


def server_tls_flags():
    if not TLS_PKI:
        return []
    p = lambda name: os.path.join(TLS_PKI, name)  # noqa: E731
    return [f"--cert-file={p('server.crt')}", f"--key-file={p('server.key')}", f"--trusted-ca-file={p('ca.crt')}",
            "--client-cert-auth", f"--peer-cert-file={p('server.crt')}", f"--peer-key-file={p('server.key')}",
            f"--peer-trusted-ca-file={p('ca.crt')}", "--peer-client-cert-auth"]


def client_tls_flags():
    """etcdctl's and ringkv-bench's (the same names)."""
    if not TLS_PKI:
        return []
    return [f"--cacert={os.path.join(TLS_PKI, 'ca.crt')}", f"--cert={os.path.join(TLS_PKI, 'client.crt')}",
            f"--key={os.path.join(TLS_PKI, 'client.key')}"]


def scheme():
    return "https" if TLS_PKI else "http"


# ---------------------------------------------------------------------------------------------------
# Setup: packages and build.
def ensure_packages():
    wanted = []
    if not shutil.which("etcd"):
        wanted.append("etcd-server")
    if not shutil.which("etcdctl"):
        wanted.append("etcd-client")
    if not shutil.which("gnuplot"):
        wanted.append("gnuplot-nox")
    if not wanted:
        return
    if os.geteuid() != 0:
        sys.exit(f"compare: missing {' '.join(wanted)} and not root: install them with apt-get")
    log(f"installing {' '.join(wanted)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + wanted, check=True, env=env)


def build():
    if not shutil.which("meson") or not shutil.which("ninja"):
        sys.exit("compare: meson and ninja are needed (scripts/deps.sh installs them)")
    if not os.path.exists(os.path.join(BUILD, "build.ninja")):
        subprocess.run(["meson", "setup", BUILD], cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    log("building ringkv-bench and ringkv")
    bench = subprocess.run(["ninja", "-C", BUILD, "ringkv-bench"], cwd=REPO, capture_output=True, text=True)
    if bench.returncode != 0 or not os.path.exists(BENCH_BIN):
        sys.exit("compare: ringkv-bench did not build:\n" + bench.stdout[-3000:] + bench.stderr[-3000:])
    server = subprocess.run(["ninja", "-C", BUILD, "ringkv"], cwd=REPO, capture_output=True, text=True)
    if server.returncode != 0 or not os.path.exists(RINGKV_BIN):
        return "ringkv did not build"
    return None


# ---------------------------------------------------------------------------------------------------
# Machine information recorded with the results.
def command_output(args):
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def machine_info(data_root):
    cpu = ""
    for line in command_output(["lscpu"]).splitlines():
        if line.startswith("Model name:"):
            cpu = line.split(":", 1)[1].strip()
    mem_kib = 0
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    device = command_output(["df", "--output=source", data_root]).splitlines()[-1:]
    device = device[0] if device else "?"
    disk = command_output(["lsblk", "-dno", "NAME,MODEL,ROTA,SIZE", device]) or device
    fs_type = (command_output(["df", "--output=fstype", data_root]).splitlines()[-1:] or ["?"])[0]
    return {
        "load average at start": " ".join(open("/proc/loadavg").read().split()[:3]),
        "cpu": cpu or platform.processor(),
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "disk": f"{disk} ({fs_type}, data under {data_root})",
        "os": command_output(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        "etcd": (command_output(["etcd", "--version"]).splitlines() or ["?"])[0],
        "ringkv_commit": command_output(["git", "-C", REPO, "rev-parse", "--short", "HEAD"]) +
        (" (working tree has uncommitted changes)" if command_output(["git", "-C", REPO, "status", "--porcelain",
                                                                       "--untracked-files=no"]) else ""),
    }


# ---------------------------------------------------------------------------------------------------
# Servers: etcd and ringkv take the same flags (ringkv uses etcd's names).
def cluster_flags(members, index, data_dir, snapshot_count):
    name = f"m{index}"
    client = f"{scheme()}://127.0.0.1:{CLIENT_PORT_BASE + 10 * index}"
    peer = f"{scheme()}://127.0.0.1:{CLIENT_PORT_BASE + 10 * index + 1}"
    initial = ",".join(f"m{i}={scheme()}://127.0.0.1:{CLIENT_PORT_BASE + 10 * i + 1}" for i in range(members))
    return [f"--name={name}", f"--data-dir={data_dir}", f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}", f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}", f"--initial-cluster={initial}",
            "--initial-cluster-state=new", "--initial-cluster-token=ringkv-compare",
            "--quota-backend-bytes=8589934592", f"--snapshot-count={snapshot_count}"] + server_tls_flags()


def client_endpoints(members):
    return ",".join(f"{scheme()}://127.0.0.1:{CLIENT_PORT_BASE + 10 * i}" for i in range(members))


def grpc_target():
    """The first member's client address as grpc's python channels take it (host:port, no scheme)."""
    return f"127.0.0.1:{CLIENT_PORT_BASE}"


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def pick_ports(members):
    """Chooses a port base whose client and peer ports are all free (other test servers may run)."""
    global CLIENT_PORT_BASE
    for base in [23790] + [random.randrange(30000, 39000, 100) for _ in range(50)]:
        if all(port_free(base + 10 * i + k) for i in range(members) for k in (0, 1)):
            CLIENT_PORT_BASE = base
            return
    sys.exit("compare: no free loopback ports found")


def port_open(port):
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class server_cluster:
    """Starts `members` processes of one server kind; stops them by PID."""

    def __init__(self, kind, binary, members, data_root, log_dir, snapshot_count, extra_flags=()):
        self.kind, self.binary, self.members = kind, binary, members
        self.snapshot_count = snapshot_count
        self.extra_flags = list(extra_flags)
        self.data_root, self.log_dir = data_root, log_dir
        self.processes = []
        self.failure = None

    def start(self):
        for i in range(self.members):
            data_dir = os.path.join(self.data_root, f"{self.kind}-{self.members}m-{i}")
            shutil.rmtree(data_dir, ignore_errors=True)
            if port_open(CLIENT_PORT_BASE + 10 * i):
                self.failure = f"port {CLIENT_PORT_BASE + 10 * i} already in use"
                return False
            with open(os.path.join(self.log_dir, f"{self.kind}-{self.members}m-{i}.log"), "w") as log_file:
                flags = cluster_flags(self.members, i, data_dir, self.snapshot_count) + self.extra_flags
                self.processes.append(subprocess.Popen([self.binary] + flags,
                                                       stdout=log_file, stderr=subprocess.STDOUT))
        return self.wait_ready()

    def wait_ready(self):
        deadline = time.time() + READY_TIMEOUT_S
        while time.time() < deadline:
            for i, p in enumerate(self.processes):
                if p.poll() is not None:
                    self.failure = f"{self.kind} exited with status {p.returncode} at start: {self.last_log_line(i)}"
                    return False
            health = subprocess.run(["etcdctl", f"--endpoints={client_endpoints(self.members)}",
                                     "--dial-timeout=1s", "--command-timeout=2s"] + client_tls_flags() +
                                    ["endpoint", "health"],
                                    capture_output=True, text=True, env=dict(os.environ, ETCDCTL_API="3"))
            if health.returncode == 0:
                return self.verify_one_cluster()
            time.sleep(0.5)
        self.failure = f"{self.kind} not healthy after {READY_TIMEOUT_S}s (etcdctl endpoint health)"
        return False

    def verify_one_cluster(self):
        """Every member must report the same cluster id and leader: N servers each running alone would
        otherwise pass for a replicated cluster and give meaningless numbers."""
        if self.members == 1:
            return True
        deadline = time.time() + READY_TIMEOUT_S
        seen = "no status"
        while time.time() < deadline:
            status = subprocess.run(["etcdctl", f"--endpoints={client_endpoints(self.members)}", "--dial-timeout=1s"] +
                                    client_tls_flags() + ["endpoint", "status", "-w", "json"], capture_output=True, text=True,
                                    env=dict(os.environ, ETCDCTL_API="3"))
            try:
                rows = json.loads(status.stdout)
                clusters = {row["Status"]["header"]["cluster_id"] for row in rows}
                leaders = {row["Status"]["leader"] for row in rows}
                seen = f"{len(rows)} members answered, cluster ids {len(clusters)}, leaders {len(leaders)}"
                if len(rows) == self.members and len(clusters) == 1 and len(leaders) == 1:
                    return True
            except (ValueError, KeyError, TypeError):
                pass
            time.sleep(0.5)
        self.failure = (f"{self.kind} did not form one {self.members}-member cluster ({seen}): "
                        "its members run alone")
        return False

    def last_log_line(self, index):
        path = os.path.join(self.log_dir, f"{self.kind}-{self.members}m-{index}.log")
        with open(path, errors="replace") as f:
            lines = [line.strip() for line in f if line.strip()]
        return (lines[-1] if lines else "no output")[:300]

    def stop(self):
        for p in self.processes:
            if p.poll() is None:
                os.kill(p.pid, signal.SIGTERM)
        for p in self.processes:
            stop_by_pid(p)
        self.processes = []
        for i in range(self.members):
            shutil.rmtree(os.path.join(self.data_root, f"{self.kind}-{self.members}m-{i}"), ignore_errors=True)


def each_single_member(servers, prefix, measure):
    """For each (kind, binary) of `servers`, one member on pick_ports(1)'s ports in a temporary dir,
    started and stopped by PID: results[kind] = measure(kind, pid), or {"reason": ...} when it did not
    start. The side-by-side scripts of bench/fairness and bench/compare run their servers this way."""
    pick_ports(1)
    work = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    results = {}
    try:
        for kind, binary in servers:
            cluster = server_cluster(kind, binary, 1, work, work, 100000)
            log(f"starting {kind}")
            try:
                if not cluster.start():
                    results[kind] = {"reason": cluster.failure}
                    continue
                results[kind] = measure(kind, cluster.processes[0].pid)
                log(f"{kind}: {json.dumps(results[kind])}")
            finally:
                cluster.stop()
                log(f"stopped {kind}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results


def stop_by_pid(process, timeout_s=STOP_TIMEOUT_S):
    """SIGTERM (if it still runs), then SIGKILL once timeout_s passed; returns when the process is gone."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()


# ---------------------------------------------------------------------------------------------------
# Running one workload.
def run_workload(members, conns, clients, args, timeout_s, server_pids):
    """ringkv-bench also reads the servers' CPU (utime+stime from /proc/<pid>/stat, every member) over
    the measured interval: server_cpu_us_per_request in its JSON."""
    command = [BENCH_BIN, f"--endpoints={client_endpoints(members)}", f"--conns={conns}",
               f"--clients={clients}", "--json", "--server-pids=" + ",".join(str(p) for p in server_pids)] + \
        client_tls_flags() + args
    try:
        run = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"served": False, "reason": f"ringkv-bench did not finish in {timeout_s}s", "command": command}
    try:
        summary = json.loads(run.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        reason = (run.stderr.strip().splitlines() or [f"exit status {run.returncode}"])[-1]
        return {"served": False, "reason": reason, "command": command}
    headline = summary["results"][-1]
    result = {"served": headline["requests_ok"] > 0, "command": command, "summary": summary}
    if headline["requests_ok"] == 0:
        errors = headline.get("errors", {})
        result["reason"] = "; ".join(f"{code}: {e['message']}" for code, e in errors.items()) or "no successful requests"
    return result


def seed_range_key(members):
    subprocess.run(["etcdctl", f"--endpoints={client_endpoints(members)}"] + client_tls_flags() + ["put", "foo", "x" * 256],
                   capture_output=True, env=dict(os.environ, ETCDCTL_API="3"), timeout=10)


def ringkv_shards(members, setting):
    """--shards for each ringkv member: 'auto' shares the machine's cores among the members on it (one
    reactor thread per core a member has; measured best for 3 members on 2 cores), a number is used as is."""
    if setting == "auto":
        return max(1, (os.cpu_count() or 1) // members)
    return int(setting)


def run_server(kind, binary, members, matrix, data_root, log_dir, unavailable_reason, timeout_s, snapshot_count,
               extra_flags=()):
    results = {}
    if unavailable_reason:
        for name, conns, clients, _ in matrix:
            results[f"{name} {conns}x{clients}"] = {"served": False, "reason": unavailable_reason}
        return results
    cluster = server_cluster(kind, binary, members, data_root, log_dir, snapshot_count, extra_flags)
    log(f"starting {kind} ({members} member{'s' if members > 1 else ''})")
    try:
        if not cluster.start():
            log(f"{kind}: {cluster.failure}")
            for name, conns, clients, _ in matrix:
                results[f"{name} {conns}x{clients}"] = {"served": False, "reason": cluster.failure}
            return results
        seed_range_key(members)
        for name, conns, clients, args in matrix:
            key = f"{name} {conns}x{clients}"
            result = run_workload(members, conns, clients, args, timeout_s, [p.pid for p in cluster.processes])
            results[key] = result
            if result["served"]:
                h = result["summary"]["results"][-1]
                log(f"{kind} {key}: {h['requests_per_s']:.0f} req/s, p99 {h['latency_us']['p99'] / 1000:.2f} ms, "
                    f"CPU µs/req server {fmt_cpu(h, 'server_cpu_us_per_request')} "
                    f"client {fmt_cpu(h, 'client_cpu_us_per_request')}")
            else:
                log(f"{kind} {key}: not served ({result['reason']})")
    finally:
        cluster.stop()
        log(f"stopped {kind}")
    return results


# ---------------------------------------------------------------------------------------------------
# Report: Markdown table, plots.
def headline(result):
    return result["summary"]["results"][-1] if result.get("served") else None


def fmt_rate(h):
    return f"{h['requests_per_s']:,.0f}" if h else "—"


def fmt_cpu(h, field):
    return f"{h[field]:.1f}" if h and field in h else "—"


def fmt_lat(h):
    if not h:
        return "—"
    lat = h["latency_us"]
    return f"{lat['p50'] / 1000:.2f} / {lat['p99'] / 1000:.2f}"


def markdown_table(topology_results):
    lines = ["| members | workload | conns×clients | etcd req/s | ringkv req/s | ratio | etcd p50 / p99 ms "
             "| ringkv p50 / p99 ms | p99 ratio | server CPU µs/req (etcd, ringkv) "
             "| bench CPU µs/req (etcd, ringkv) |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    unserved = {}  # (members, server, reason) -> workloads
    for members, per_server in topology_results.items():
        for key in per_server["etcd"]:
            name, shape = key.rsplit(" ", 1)
            e, r = headline(per_server["etcd"][key]), headline(per_server["ringkv"].get(key, {}))
            ratio = f"{r['requests_per_s'] / e['requests_per_s']:.2f}×" if e and r and e["requests_per_s"] else "—"
            p99 = (f"{r['latency_us']['p99'] / e['latency_us']['p99']:.2f}"
                   if e and r and e["latency_us"]["p99"] else "—")
            cpu = ", ".join(fmt_cpu(h, "client_cpu_us_per_request") for h in (e, r))
            server_cpu = ", ".join(fmt_cpu(h, "server_cpu_us_per_request") for h in (e, r))
            for server, h in (("etcd", e), ("ringkv", r)):
                if not h:
                    reason = per_server[server].get(key, {}).get("reason", "not run")
                    unserved.setdefault((members, server, reason), []).append(key)
            lines.append(f"| {members} | {name} | {shape} | {fmt_rate(e) if e else 'not served'} "
                         f"| {fmt_rate(r) if r else 'not served'} | {ratio} | {fmt_lat(e)} | {fmt_lat(r)} | {p99} "
                         f"| {server_cpu} | {cpu} |")
    notes = [f"- {members} member(s), {server}, {', '.join(keys)}: {reason}"
             for (members, server, reason), keys in unserved.items()]
    return "\n".join(lines), notes


def gnuplot(script, out_dir):
    if not shutil.which("gnuplot"):
        return False
    run = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True, cwd=out_dir)
    if run.returncode != 0:
        log("gnuplot failed: " + run.stderr[-500:])
    return run.returncode == 0


def write_plots(topology_results, out_dir):
    made = []
    members = min(topology_results)
    per_server = topology_results[members]
    # Throughput vs clients (put workloads).
    def servers_with(keys):
        return [s for s in ("etcd", "ringkv") if any(headline(per_server[s].get(k, {})) for k in keys)]

    servers_with_data = servers_with([k for k in per_server["etcd"] if k.startswith("put ")])
    if not servers_with_data:
        return made
    titles = {"etcd": "etcd 3.4", "ringkv": "ringkv"}
    columns = {"etcd": 2, "ringkv": 3}
    with open(os.path.join(out_dir, "put_throughput.dat"), "w") as dat:
        dat.write("# clients etcd_req_s ringkv_req_s (NaN: not served)\n")
        for key in per_server["etcd"]:
            name, shape = key.rsplit(" ", 1)
            if name != "put":
                continue
            clients = int(shape.split("x")[1])
            values = [headline(per_server[s].get(key, {})) for s in ("etcd", "ringkv")]
            dat.write(f"{clients} " + " ".join(f"{v['requests_per_s']:.1f}" if v else "NaN" for v in values) + "\n")
    script = f"""set terminal pngcairo size 900,540 font ",11"
set output "put_throughput.png"
set title "put throughput vs concurrent clients ({members} member, fsync on)"
set xlabel "clients (conns x clients: 1x1, 1x16, 8x64, 16x256)"
set ylabel "requests/s"
set logscale x 2
set xtics (1, 16, 64, 256)
set xrange [0.8:320]
set grid
set key top left
plot """ + ", ".join(f'"put_throughput.dat" using 1:{columns[s]} with linespoints lw 2 title "{titles[s]}"'
                     for s in servers_with_data) + "\n"
    if gnuplot(script, out_dir):
        made.append("put_throughput.png")
    # Latency percentiles of put 8x64.
    key = "put 8x64"
    servers_with_data = servers_with([key])
    if not servers_with_data:
        return made
    rows = []
    for label, q in (("p50", "p50"), ("p90", "p90"), ("p99", "p99"), ("p99.9", "p99_9"), ("max", "max")):
        values = [headline(per_server[s].get(key, {})) for s in ("etcd", "ringkv")]
        rows.append(f"{label} " + " ".join(f"{v['latency_us'][q] / 1000:.3f}" if v else "NaN" for v in values))
    with open(os.path.join(out_dir, "put_latency.dat"), "w") as dat:
        dat.write("# percentile etcd_ms ringkv_ms\n" + "\n".join(rows) + "\n")
    script = f"""set terminal pngcairo size 900,540 font ",11"
set output "put_latency.png"
set title "put 8x64 latency percentiles ({members} member, fsync on)"
set ylabel "latency (ms, log scale)"
set logscale y
set key top left
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set grid ytics
plot """ + ", ".join(f'"put_latency.dat" using {columns[s]}:xtic(1) title "{titles[s]}"'
                     for s in servers_with_data) + "\n"
    if gnuplot(script, out_dir):
        made.append("put_latency.png")
    return made


def write_report(out_dir, args, info, topology_results, plots, elapsed, matrix):
    table, notes = markdown_table(topology_results)
    lines = [f"# ringkv vs etcd 3.4 — {datetime.date.today().isoformat()}", "",
             f"Command: `bench/compare/compare.py{' --quick' if args.quick else ''}{' --tls' if getattr(args, 'tls', False) else ''}` "
             f"({'quick' if args.quick else 'default'} matrix, {elapsed / 60:.1f} minutes). "
             "Same load generator (ringkv-bench), same machine, same run; servers started in turn with "
             "the same flags, data dirs on the same disk, fsync on. Ratio = ringkv / etcd throughput; "
             "p99 ratio = ringkv p99 / etcd p99 (lower is better). Watch rows count events/s and put→event "
             "latency. CPU µs/req: user+system CPU of every server process (/proc/<pid>/stat, all members) "
             "and of the load generator (getrusage) over the measured interval, divided by the requests "
             "(watch: by the events); both servers ran with "
             f"--snapshot-count={args.snapshot_count}. ringkv members ran with --shards="
             f"{args.ringkv_shards} (auto: the machine's cores shared among its members); etcd with its "
             "default GOMAXPROCS (all cores).", "", table, ""]
    if notes:
        lines += ["Not measured:", ""] + notes + [""]
    lines += ["## Machine", ""] + [f"- {k}: {v}" for k, v in info.items()] + [""]
    if plots:
        lines += ["## Plots", ""] + [f"![{p}]({p})" for p in plots] + [""]
    lines += ["## Workloads", ""] + [f"- `ringkv-bench --conns={c} --clients={n} {' '.join(a)}`"
                                     for _, c, n, a in matrix] + [""]
    with open(os.path.join(out_dir, "README.md"), "w") as f:
        f.write("\n".join(lines))
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump({"machine": info, "quick": args.quick, "elapsed_s": elapsed, "matrix": matrix,
                   "snapshot_count": args.snapshot_count, "ringkv_shards": args.ringkv_shards,
                   "results": {str(m): r for m, r in topology_results.items()}}, f, indent=1)


def render_again(out_dir, args):
    with open(os.path.join(out_dir, "results.json")) as f:
        saved = json.load(f)
    args.quick = saved.get("quick", False)
    args.snapshot_count = saved.get("snapshot_count", "(not recorded)")
    args.ringkv_shards = saved.get("ringkv_shards", "(default: one per core)")
    topology_results = {int(m): r for m, r in saved["results"].items()}
    plots = write_plots(topology_results, out_dir)
    write_report(out_dir, args, saved["machine"], topology_results, plots, saved.get("elapsed_s", 0),
                 [tuple(w) for w in saved.get("matrix", [])])
    print(open(os.path.join(out_dir, "README.md")).read())


def main():
    global BUILD, BENCH_BIN, RINGKV_BIN, TLS_PKI
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short matrix, 1 member (<= 3 minutes)")
    parser.add_argument("--members", default=None, help="topologies, e.g. 1 or 1,3 (default: 1,3; quick: 1)")
    parser.add_argument("--data-root", default=None, help="directory for both servers' data dirs (one disk)")
    parser.add_argument("--out", default=None, help="results directory (default bench/results/<date>[-quick])")
    parser.add_argument("--only", default=None, help="run only workloads whose name contains this text")
    parser.add_argument("--build-dir", default=BUILD, help="meson build directory (default build/)")
    parser.add_argument("--no-build", action="store_true", help="use the binaries already in the build directory")
    parser.add_argument("--snapshot-count", type=int, default=100000,
                        help="--snapshot-count given to both servers (default 100000, etcd 3.4's default)")
    parser.add_argument("--ringkv-shards", default="auto",
                        help="ringkv --shards per member: auto = cores / members (at least 1), or a number; "
                             "etcd runs with its default GOMAXPROCS (all cores), its best setting here")
    parser.add_argument("--tls", action="store_true",
                        help="TLS rows only (put 16x256, range 8x64): both servers with the same certificates on "
                             "the client and peer ports (made with the openssl CLI), clients with certificates")
    parser.add_argument("--render", default=None, metavar="DIR",
                        help="only rewrite DIR/README.md and plots from DIR/results.json (no servers run)")
    args = parser.parse_args()
    if args.render:
        render_again(args.render, args)
        return
    BUILD = os.path.abspath(args.build_dir)
    BENCH_BIN, RINGKV_BIN = os.path.join(BUILD, "ringkv-bench"), os.path.join(BUILD, "ringkv")
    started = time.time()
    ensure_packages()
    if args.no_build:
        ringkv_missing = None if os.path.exists(RINGKV_BIN) else "ringkv is not built"
        if not os.path.exists(BENCH_BIN):
            sys.exit(f"compare: {BENCH_BIN} does not exist (run without --no-build)")
    else:
        ringkv_missing = build()
    members_list = [int(m) for m in (args.members or ("1" if args.quick else "1,3")).split(",")]
    matrix = [w for w in (tls_matrix if args.tls else workload_matrix)(args.quick) if not args.only or args.only in w[0]]
    if args.tls:
        TLS_PKI = make_tls_pki()
    out_dir = args.out or os.path.join(REPO, "bench", "results", datetime.date.today().isoformat() +
                                       ("-quick" if args.quick else "") + ("-tls" if args.tls else ""))
    os.makedirs(out_dir, exist_ok=True)
    data_root = tempfile.mkdtemp(prefix="ringkv-compare-", dir=args.data_root or "/tmp")
    log_dir = tempfile.mkdtemp(prefix="ringkv-compare-logs-")
    info = machine_info(data_root)
    timeout_s = 120
    topology_results = {}
    try:
        for members in members_list:
            pick_ports(members)
            per_server = {}
            per_server["etcd"] = run_server("etcd", shutil.which("etcd"), members, matrix, data_root, log_dir, None,
                                            timeout_s, args.snapshot_count)
            per_server["ringkv"] = run_server("ringkv", RINGKV_BIN, members, matrix, data_root, log_dir,
                                              ringkv_missing, timeout_s, args.snapshot_count,
                                              [f"--shards={ringkv_shards(members, args.ringkv_shards)}"])
            topology_results[members] = per_server
    finally:
        shutil.rmtree(data_root, ignore_errors=True)
        if TLS_PKI:
            shutil.rmtree(TLS_PKI, ignore_errors=True)
    plots = write_plots(topology_results, out_dir)
    write_report(out_dir, args, info, topology_results, plots, time.time() - started, matrix)
    log(f"results in {os.path.relpath(out_dir, REPO)} (server logs in {log_dir}); "
        f"{(time.time() - started) / 60:.1f} minutes")
    print(open(os.path.join(out_dir, "README.md")).read())


if __name__ == "__main__":
    main()
