#!/usr/bin/python3
"""Records tests/mvcc/fixtures/*.txt from a REAL etcd 3.4 (stdlib only).

Starts etcd on 127.0.0.1 (free ports, temp data dir), runs each scripted scenario against it and writes
what etcd answered, killing etcd by PID at the end. Requests go through etcd's own JSON gateway
(/v3/kv/range, /v3/kv/txn, ...: the same server and apply path as gRPC), because etcdctl 3.4 cannot
express count_only, min/max revisions, nested txns or lease compares; HashKV comes from
`etcdctl endpoint hashkv -w json` (the gateway maps Hash and HashKV to the same URL).

Fixture format (read by tests/mvcc/fixture_test.cc), one step per request:
  > <op> field=value ...        the request (txn: nested lines `cmp`, `success`, `failure`, ops, `end`)
  < <rendered response lines>   what etcd returned, rendered by render_* below (the C++ test renders
                                its own responses the same way and compares the text)
Byte strings are percent-escaped (anything outside [A-Za-z0-9._/-]).
Run: tests/mvcc/record_fixtures.py  (rewrites the fixtures; commit them)
"""
import base64, json, os, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.request, urllib.error

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")


def esc(b):
    if isinstance(b, str):
        b = b.encode()
    safe = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._/-"
    return "".join(chr(c) if c in safe else "%%%02X" % c for c in b)


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def unb64(s):
    return base64.b64decode(s) if s else b""


sys.path.insert(0, os.path.join(HERE, "..", "server"))
from loopback_ports import free_port  # noqa: E402


class Etcd:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ringkv-mvcc-fixture-")
        self.cport, pport = free_port(), free_port()
        self.url = "http://127.0.0.1:%d" % self.cport
        peer = "http://127.0.0.1:%d" % pport
        self.log = open(os.path.join(self.dir, "etcd.log"), "w")
        self.proc = subprocess.Popen(
            ["etcd", "--data-dir", os.path.join(self.dir, "data"), "--listen-client-urls", self.url,
             "--advertise-client-urls", self.url, "--listen-peer-urls", peer,
             "--initial-advertise-peer-urls", peer, "--initial-cluster", "default=" + peer],
            stdout=self.log, stderr=self.log)
        for _ in range(100):
            try:
                self.post("/v3/kv/range", {"key": b64("x")})
                return
            except Exception:
                time.sleep(0.1)
        raise RuntimeError("etcd did not start")

    def post(self, path, body):
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(), method="POST")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            return json.loads(e.read())

    def watch(self, body, wait_s=1.5):
        """Opens a watch stream on the gateway and collects what arrives within wait_s seconds."""
        req = urllib.request.Request(self.url + "/v3/watch", data=json.dumps(body).encode(), method="POST")
        out = []
        try:
            with urllib.request.urlopen(req, timeout=wait_s) as r:
                while True:
                    line = r.readline()
                    if not line:
                        break
                    out.append(json.loads(line)["result"])
        except (socket.timeout, TimeoutError):
            pass
        return out

    def hashkv(self, rev):
        p = subprocess.run(["etcdctl", "--endpoints", self.url, "-w", "json", "endpoint", "hashkv",
                            "--rev", str(rev)], capture_output=True, text=True)
        if p.returncode != 0:
            return {"error": p.stderr.strip().splitlines()[-1].replace("Error: ", "")}
        return json.loads(p.stdout)[0]["HashKV"]

    def stop(self):
        os.kill(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=10)
        self.log.close()
        shutil.rmtree(self.dir)


# ---- rendering (must match render_* in fixture_test.cc) ----
def i(d, k):
    return int(d.get(k, 0) or 0)


def render_kv(tag, kv):
    return "< %s key=%s create=%d mod=%d version=%d value=%s lease=%d" % (
        tag, esc(unb64(kv.get("key", ""))), i(kv, "create_revision"), i(kv, "mod_revision"),
        i(kv, "version"), esc(unb64(kv.get("value", ""))), i(kv, "lease"))


def hdr(r):
    return i(r.get("header", {}), "revision")


def render_range(r):
    out = ["< range header=%d count=%d more=%d" % (hdr(r), i(r, "count"), 1 if r.get("more") else 0)]
    return out + [render_kv("kv", kv) for kv in r.get("kvs", [])]


def render_put(r):
    out = ["< put header=%d" % hdr(r)]
    return out + ([render_kv("prev_kv", r["prev_kv"])] if r.get("prev_kv") else [])


def render_delete(r):
    out = ["< delete header=%d deleted=%d" % (hdr(r), i(r, "deleted"))]
    return out + [render_kv("prev_kv", kv) for kv in r.get("prev_kvs", [])]


def render_txn(r):
    out = ["< txn header=%d succeeded=%d" % (hdr(r), 1 if r.get("succeeded") else 0)]
    for resp in r.get("responses", []):
        if "response_range" in resp:
            out += render_range(resp["response_range"])
        elif "response_put" in resp:
            out += render_put(resp["response_put"])
        elif "response_delete_range" in resp:
            out += render_delete(resp["response_delete_range"])
        elif "response_txn" in resp:
            out += render_txn(resp["response_txn"])
        else:
            raise RuntimeError("unknown txn response %r" % resp)
    return out + ["< end"]


# ---- requests: fixture text and gateway JSON from one description ----
BOOLS = ("prev_kv", "ignore_value", "ignore_lease", "keys_only", "count_only")
INTS = ("lease", "limit", "revision", "sort_order", "sort_target", "min_mod_revision", "max_mod_revision",
        "min_create_revision", "max_create_revision")
BYTES = ("key", "value", "range_end")


def req_line(op, a):
    parts = [op]
    for k in sorted(a):
        v = a[k]
        parts.append("%s=%s" % (k, esc(v) if k in BYTES else (int(v) if not isinstance(v, bool) else int(v))))
    return " ".join(parts)


def req_json(a):
    j = {}
    for k, v in a.items():
        j[k] = b64(v) if k in BYTES else v
    return j


CMP_TARGET = {"version": 0, "create": 1, "mod": 2, "value": 3, "lease": 4}
CMP_FIELD = {"version": "version", "create": "create_revision", "mod": "mod_revision", "value": "value",
             "lease": "lease"}
CMP_RESULT = {"=": 0, ">": 1, "<": 2, "!=": 3}


def cmp(target, key, op, val, range_end=None):
    return ("cmp", target, key, op, val, range_end)


def txn_lines_json(compares, success, failure):
    lines, j = ["> txn"], {"compare": [], "success": [], "failure": []}
    for (_, target, key, op, val, range_end) in compares:
        lines.append("> cmp target=%d result=%d key=%s range_end=%s operand=%s" % (
            CMP_TARGET[target], CMP_RESULT[op], esc(key), esc(range_end or ""), esc(str(val))))
        c = {"target": CMP_TARGET[target], "result": CMP_RESULT[op], "key": b64(key),
             CMP_FIELD[target]: b64(val) if target == "value" else val}
        if range_end:
            c["range_end"] = b64(range_end)
        j["compare"].append(c)
    for name, ops in (("success", success), ("failure", failure)):
        lines.append("> " + name)
        for op in ops:
            kind = op[0]
            if kind == "txn":
                sub_lines, sub_j = txn_lines_json(*op[1:])
                lines += sub_lines
                j[name].append({"request_txn": sub_j})
            else:
                lines.append("> " + req_line(kind, op[1]))
                field = {"range": "request_range", "put": "request_put", "delete": "request_delete_range"}[kind]
                j[name].append({field: req_json(op[1])})
    lines.append("> end")
    return lines, j


class Recorder:
    def __init__(self, etcd):
        self.e, self.lines = etcd, []

    def result(self, r, render):
        if "error" in r:
            return ["< error " + r["error"]]
        return render(r)

    def put(self, **a):
        self.lines.append("> " + req_line("put", a))
        self.lines += self.result(self.e.post("/v3/kv/put", req_json(a)), render_put)

    def range(self, **a):
        self.lines.append("> " + req_line("range", a))
        self.lines += self.result(self.e.post("/v3/kv/range", req_json(a)), render_range)

    def delete(self, **a):
        self.lines.append("> " + req_line("delete", a))
        self.lines += self.result(self.e.post("/v3/kv/deleterange", req_json(a)), render_delete)

    def txn(self, compares, success, failure):
        lines, j = txn_lines_json(compares, success, failure)
        self.lines += lines
        self.lines += self.result(self.e.post("/v3/kv/txn", j), render_txn)

    def compact(self, rev):
        self.lines.append("> compact revision=%d" % rev)
        self.lines += self.result(self.e.post("/v3/kv/compaction", {"revision": rev}),
                                  lambda r: ["< compact header=%d" % hdr(r)])

    def lease_grant(self, id, ttl):
        self.lines.append("> lease_grant id=%d ttl=%d" % (id, ttl))
        self.lines += self.result(self.e.post("/v3/lease/grant", {"ID": id, "TTL": ttl}),
                                  lambda r: ["< lease_grant header=%d id=%d ttl=%d" % (hdr(r), i(r, "ID"), i(r, "TTL"))]
                                  if not r.get("error") else ["< error " + r["error"]])

    def lease_revoke(self, id):
        self.lines.append("> lease_revoke id=%d" % id)
        self.lines += self.result(self.e.post("/v3/lease/revoke", {"ID": id}),
                                  lambda r: ["< lease_revoke header=%d" % hdr(r)])

    def lease_keys(self, id):
        self.lines.append("> lease_keys id=%d" % id)
        r = self.e.post("/v3/lease/timetolive", {"ID": id, "keys": True})
        if i(r, "TTL") == -1:  # etcd answers a missing lease with TTL -1
            self.lines.append("< lease_keys missing")
        else:
            keys = sorted(esc(unb64(k)) for k in r.get("keys", []))
            self.lines.append("< lease_keys granted_ttl=%d keys=%s" % (i(r, "grantedTTL"), ",".join(keys)))

    def hashkv(self, rev):
        self.lines.append("> hashkv revision=%d" % rev)
        r = self.e.hashkv(rev)
        if "error" in r:
            self.lines.append("< error " + r["error"])
        else:
            self.lines.append("< hashkv header=%d hash=%d compact=%d" % (hdr(r), i(r, "hash"), i(r, "compact_revision")))

    def watch(self, key, range_end="", start_revision=0, prev_kv=False, filters=()):
        """A watch from start_revision: every event etcd sends from history (in order), or its
        compacted answer. Rendered one event per line; the test polls our watcher until it is drained."""
        a = {"key": key, "range_end": range_end, "start_revision": start_revision, "prev_kv": prev_kv}
        line = "> watch key=%s range_end=%s start_revision=%d prev_kv=%d filter_put=%d filter_delete=%d" % (
            esc(key), esc(range_end), start_revision, int(prev_kv), int("NOPUT" in filters), int("NODELETE" in filters))
        self.lines.append(line)
        body = {"create_request": {"key": b64(key), "start_revision": start_revision, "prev_kv": prev_kv,
                                   "filters": list(filters)}}
        if range_end:
            body["create_request"]["range_end"] = b64(range_end)
        for res in self.e.watch(body):
            if i(res, "compact_revision"):
                self.lines.append("< watch_compacted revision=%d" % i(res, "compact_revision"))
            for ev in res.get("events", []):
                kind = ev.get("type", "PUT")
                self.lines.append(render_kv("event_" + kind.lower(), ev["kv"]))
                if ev.get("prev_kv"):
                    self.lines.append(render_kv("prev_kv", ev["prev_kv"]))

    def comment(self, text):
        self.lines.append("# " + text)


# ---- scenarios: each runs on a fresh etcd ----
def s_basic(r):
    r.comment("revisions, versions, create/mod, delete resets version, prev_kv")
    r.range(key="a")
    r.put(key="a", value="1")
    r.put(key="a", value="2", prev_kv=True)
    r.put(key="b", value="x")
    r.range(key="a")
    r.delete(key="a", prev_kv=True)
    r.delete(key="a")
    r.put(key="a", value="3", prev_kv=True)
    r.range(key="a", range_end="c")
    r.delete(key="a", range_end="z", prev_kv=True)
    r.range(key="a", range_end="z")
    r.put(key="", value="x")
    r.range(key="")
    r.delete(key="")
    r.put(key="e", value="")
    r.range(key="e")
    r.put(key="bin\x00\xff", value="\x01\x02")
    r.range(key="\x00", range_end="\x00")


def s_range_options(r):
    r.comment("limit/more/count, sort orders and targets, keys_only, count_only, min/max, from-key, prefix")
    for k, v in (("k3", "c"), ("k1", "e"), ("k5", "a"), ("k2", "d"), ("k4", "b")):
        r.put(key=k, value=v)
    r.put(key="k2", value="dd")
    r.put(key="k2", value="ddd")
    r.put(key="k4", value="bb")
    r.put(key="other", value="o")
    r.range(key="k", range_end="l")
    r.range(key="k", range_end="l", limit=2)
    r.range(key="k", range_end="l", limit=5)
    r.range(key="k", range_end="l", limit=6)
    for target in range(5):
        for order in range(3):
            r.range(key="k", range_end="l", sort_order=order, sort_target=target)
            r.range(key="k", range_end="l", sort_order=order, sort_target=target, limit=2)
    r.range(key="k", range_end="l", keys_only=True)
    r.range(key="k", range_end="l", count_only=True)
    r.range(key="k", range_end="l", count_only=True, limit=1)
    r.range(key="k", range_end="l", min_mod_revision=5)
    r.range(key="k", range_end="l", max_mod_revision=5)
    r.range(key="k", range_end="l", min_create_revision=4, max_create_revision=5)
    r.range(key="k", range_end="l", min_mod_revision=7, limit=1)
    r.range(key="k3", range_end="\x00")
    r.range(key="\x00", range_end="\x00", limit=3)
    r.range(key="k4", range_end="k2")
    r.range(key="zzz", range_end="\x00")


def s_history(r):
    r.comment("history reads, future revision, compaction errors and retained versions")
    for n in range(1, 6):
        r.put(key="h", value="v%d" % n)
    r.put(key="g", value="1")
    r.delete(key="g")
    r.put(key="g", value="2")
    for rev in range(0, 11):
        r.range(key="a", range_end="z", revision=rev)
    r.range(key="h", revision=11)
    r.range(key="h", revision=-1)
    r.hashkv(0)
    r.hashkv(4)
    r.compact(4)
    r.compact(4)
    r.compact(3)
    r.compact(100)
    r.range(key="h", revision=3)
    r.range(key="h", revision=4)
    r.range(key="a", range_end="z", revision=8)
    r.hashkv(4)
    r.hashkv(5)
    r.hashkv(0)
    r.compact(8)
    r.range(key="a", range_end="z", revision=8)
    r.range(key="g", revision=9)
    r.hashkv(0)
    r.delete(key="h")
    r.compact(11)
    r.range(key="a", range_end="z")
    r.hashkv(0)
    r.put(key="h", value="again")
    r.range(key="h")
    r.hashkv(0)


def s_ignore(r):
    r.comment("ignore_value / ignore_lease and their errors")
    r.put(key="x", value="v", ignore_value=True)
    r.put(key="x", ignore_value=True)
    r.put(key="x", ignore_lease=True)
    r.lease_grant(1001, 100)
    r.put(key="x", value="v1", lease=1001)
    r.put(key="x", ignore_value=True, prev_kv=True)
    r.range(key="x")
    r.put(key="x", value="v2", ignore_lease=True, prev_kv=True)
    r.range(key="x")
    r.put(key="x", value="v3", lease=1001, ignore_lease=True)
    r.put(key="x", value="v4", lease=999)
    r.put(key="x", value="v5")
    r.range(key="x")
    r.lease_keys(1001)


def s_txn(r):
    r.comment("txn compares (all targets and results, ranges, missing keys), branches, nested txns, errors")
    r.put(key="a", value="1")
    r.put(key="b", value="2")
    r.put(key="b", value="22")
    for target, val in (("version", 2), ("create", 2), ("mod", 3), ("value", "1"), ("lease", 0)):
        for op in ("=", "!=", ">", "<"):
            r.txn([cmp(target, "a", op, val)], [("range", {"key": "a"})], [("range", {"key": "b"})])
    r.txn([cmp("value", "missing", "=", "")], [("put", {"key": "t", "value": "s"})], [("put", {"key": "t", "value": "f"})])
    r.txn([cmp("version", "missing", "=", 0)], [("put", {"key": "m", "value": "s"})], [])
    r.txn([cmp("create", "missing", "<", 1)], [], [("put", {"key": "m", "value": "f"})])
    r.txn([cmp("version", "a", ">", 0, "c")], [("range", {"key": "a", "range_end": "c"})], [])
    r.txn([cmp("value", "a", ">", "1", "c")], [], [("range", {"key": "a", "range_end": "c", "count_only": True})])
    r.txn([cmp("mod", "a", "<", 100, "\x00")], [("delete", {"key": "m", "prev_kv": True})], [])
    r.txn([], [("put", {"key": "p1", "value": "x", "prev_kv": True}), ("put", {"key": "p2", "value": "y"}),
               ("range", {"key": "p", "range_end": "q"}), ("delete", {"key": "nothing"}),
               ("delete", {"key": "p1", "prev_kv": True})], [])
    r.txn([], [("range", {"key": "a"}), ("delete", {"key": "zz"})], [])
    r.txn([cmp("value", "a", "=", "1")],
          [("txn", [cmp("version", "b", "=", 2)],
            [("put", {"key": "n1", "value": "then"}), ("range", {"key": "n", "range_end": "o"})],
            [("put", {"key": "n1", "value": "else"})]),
           ("put", {"key": "n2", "value": "outer"})],
          [])
    r.txn([cmp("value", "a", "=", "nope")], [],
          [("txn", [], [("txn", [cmp("mod", "n1", ">", 0)], [("delete", {"key": "n1"})], [])], []),
           ("range", {"key": "n", "range_end": "o"})])
    r.comment("errors")
    r.txn([], [("put", {"key": "d", "value": "1"}), ("put", {"key": "d", "value": "2"})], [])
    r.txn([], [("put", {"key": "d", "value": "1"}), ("delete", {"key": "d"})], [])
    r.txn([], [("put", {"key": "d", "value": "1"}), ("delete", {"key": "c", "range_end": "e"})], [])
    r.txn([], [("put", {"key": "d", "value": "1"}), ("delete", {"key": "c", "range_end": "\x00"})], [])
    r.txn([], [("txn", [], [("put", {"key": "d", "value": "1"})], [("put", {"key": "d", "value": "2"})]),
               ("put", {"key": "e", "value": "1"})], [])
    r.txn([], [("txn", [], [("put", {"key": "d", "value": "1"})], []), ("put", {"key": "d", "value": "2"})], [])
    r.txn([], [("put", {"key": "d", "value": "1"})], [("put", {"key": "d", "value": "2"})])
    r.txn([], [("delete", {"key": "d"}), ("delete", {"key": "d"})], [])
    r.txn([], [("put", {"key": "k%d" % n, "value": "v"}) for n in range(128)], [])
    r.txn([], [("put", {"key": "k%d" % n, "value": "v"}) for n in range(129)], [])
    r.txn([cmp("version", "a", "=", 0)] * 129, [], [])
    r.txn([], [("put", {"key": "", "value": "v"})], [])
    r.txn([cmp("version", "", "=", 0)], [], [])
    r.txn([], [("put", {"key": "q", "ignore_value": True})], [])
    r.txn([], [("put", {"key": "a", "value": "v", "ignore_value": True})], [])
    r.txn([], [("put", {"key": "q", "value": "v", "lease": 77})], [])
    r.txn([], [("range", {"key": "a", "revision": 1000})], [])
    r.txn([], [("range", {"key": "a", "revision": 1000})], [("put", {"key": "notfail", "value": "x"})])
    r.compact(5)
    r.txn([], [("range", {"key": "a", "revision": 2})], [])
    r.txn([], [("put", {"key": "q", "value": "v"}), ("range", {"key": "a", "revision": 4})], [])
    r.range(key="a", range_end="\x00")


def s_leases(r):
    r.comment("lease grant/revoke, attached keys, detach on overwrite/delete, errors")
    r.lease_grant(5001, 100)
    r.lease_grant(5001, 100)
    r.lease_grant(5002, 9000000001)
    r.lease_grant(5003, 0)
    r.put(key="l1", value="a", lease=5001)
    r.put(key="l2", value="b", lease=5001)
    r.put(key="l3", value="c", lease=5001)
    r.put(key="l4", value="d", lease=5003)
    r.put(key="l2", value="b2")
    r.delete(key="l3")
    r.lease_keys(5001)
    r.lease_keys(5003)
    r.put(key="l4", value="d2", lease=5001)
    r.lease_keys(5001)
    r.lease_keys(5003)
    r.range(key="l", range_end="m")
    r.lease_revoke(5001)
    r.range(key="l", range_end="m")
    r.lease_revoke(5001)
    r.lease_keys(5001)
    r.lease_revoke(5003)
    r.range(key="l", range_end="m")
    r.lease_grant(5004, 60)
    r.txn([], [("put", {"key": "t1", "value": "x", "lease": 5004}), ("put", {"key": "t0", "value": "y", "lease": 5004})], [])
    r.txn([cmp("lease", "t1", "=", 5004)], [("range", {"key": "t1"})], [])
    r.lease_revoke(5004)
    r.range(key="t", range_end="u")
    r.hashkv(0)


def s_watch(r):
    r.comment("watch history: events in revision order, prev_kv, delete events, filters, compaction")
    r.put(key="w/a", value="1")
    r.put(key="w/b", value="2")
    r.put(key="w/a", value="3")
    r.txn([], [("put", {"key": "w/c", "value": "4"}), ("delete", {"key": "w/b"}), ("put", {"key": "x", "value": "5"})], [])
    r.delete(key="w/", range_end="w0")
    r.put(key="w/a", value="6")
    r.watch("w/a", start_revision=1)
    r.watch("w/a", start_revision=3, prev_kv=True)
    r.watch("w/", "w0", start_revision=1, prev_kv=True)
    r.watch("w/", "w0", start_revision=5, prev_kv=True, filters=("NOPUT",))
    r.watch("w/", "w0", start_revision=2, filters=("NODELETE",))
    r.watch("\x00", "\x00", start_revision=5)
    r.watch("w/b", start_revision=100)
    r.compact(5)
    r.watch("w/", "w0", start_revision=4)
    r.watch("w/", "w0", start_revision=5, prev_kv=True)
    r.watch("w/", "w0", start_revision=6, prev_kv=True)


SCENARIOS = [("basic", s_basic), ("range_options", s_range_options), ("history", s_history),
             ("ignore", s_ignore), ("txn", s_txn), ("leases", s_leases),
             ("watch", s_watch)]


def main():
    os.makedirs(OUT, exist_ok=True)
    only = sys.argv[1:]  # optional scenario names
    version = subprocess.run(["etcd", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    for name, fn in SCENARIOS:
        if only and name not in only:
            continue
        etcd = Etcd()
        try:
            r = Recorder(etcd)
            fn(r)
        finally:
            etcd.stop()
        with open(os.path.join(OUT, name + ".txt"), "w") as f:
            f.write("# recorded from %s by tests/mvcc/record_fixtures.py; do not edit\n" % version)
            f.write("\n".join(r.lines) + "\n")
        print("wrote", name, len(r.lines), "lines")


if __name__ == "__main__":
    sys.exit(main())
