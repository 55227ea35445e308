"""tests/robustness/workload.py - the recorded traffic of a robustness run: KV client threads (several
bound to each member, some moving to any member after an error), a lease client, watchers, a compactor
and a per-member revision sampler, all over python3-etcd3's raw gRPC stubs (works with ringkv and etcd).

Every request becomes an Op in the shared History with time.monotonic_ns invoke/complete times; every
watch stream a WatchSession. One seed drives every choice (each thread has its own Random from it).
Each thread sends one request at a time (its rate is the server's latency); the whole history lives in
memory: about 15000 ops and as many watch events per minute on 3 members, a few MB.
"""
import queue
import random
import threading
import time

import grpc
from etcd3 import etcdrpc

from history import Op, WatchSession, OK, FAILED, UNKNOWN, PUT, GET, CAS, DELETE, REVOKE

KEYS = 8                  # single-key registers k/0..k/7
OP_TIMEOUT_S = 1.0        # a write without an answer by then is unknown
LEASE_TTL_S = 120         # longer than any run's faults: leases end by revoke, never by expiry
COMPACT_EVERY_S = 2.0
COMPACT_KEEP = 150        # revisions kept behind the newest seen
SAMPLE_EVERY_S = 0.05
CANCEL_CHANCE = 0.3
NEW_WATCHER_CHANCE = 0.25  # after each session, a watcher may end and a new one start (often below compaction)
# An error that proves a write had no effect (refused before or by apply): "failed"; any other: "unknown".
# NOT_FOUND is a put on a revoked lease, refused by apply. Conservative: leader changes, timeouts and
# "request cancelled" stay unknown.
DEFINITE_WRITE_ERRORS = (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND)


def never_sent(error):
    """Whether the request never left the client: no connection to the member could be made."""
    return error.code() == grpc.StatusCode.UNAVAILABLE and "failed to connect to all addresses" in (error.details() or "")


def _b(s):
    return s.encode()


def _s(b):
    return b.decode()


def _prefix_end(prefix):
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


class Endpoint:
    """One member's client address and a channel to it (remade on demand after a restart)."""

    def __init__(self, name, address):
        self.name, self.address = name, address

    def channel(self):
        return grpc.insecure_channel(self.address)


class Recorder:
    def __init__(self, history, seed):
        self.history = history
        self.seed = seed
        self.lock = threading.Lock()
        self.next_id = 0
        self.newest_rev = 1
        self.stop_event = threading.Event()
        self.errors = []  # unexpected exceptions in threads (a harness bug): the run fails
        self.stale_reads = False  # the harness's self-test: KV gets serializable, which must be caught

    def new_op(self, client, member, kind, **fields):
        with self.lock:
            self.next_id += 1
            op = Op(self.next_id, client, member, kind, invoke_ns=0, **fields)
            self.history.ops.append(op)
        op.invoke_ns = time.monotonic_ns()
        return op

    def saw_revision(self, rev):
        with self.lock:
            if rev > self.newest_rev:
                self.newest_rev = rev

    def complete(self, op, error=None, read=False):
        """Completes op: ok when error is None, else failed (reads, definite write errors) or unknown."""
        if error is None:
            op.complete_ns = time.monotonic_ns()
            op.outcome = OK
            self.saw_revision(op.header_rev)
            return
        op.error = error.code().name if isinstance(error, grpc.RpcError) else type(error).__name__
        if read or (isinstance(error, grpc.RpcError) and (error.code() in DEFINITE_WRITE_ERRORS or never_sent(error))):
            op.complete_ns = time.monotonic_ns()
            op.outcome = FAILED
        else:
            op.outcome = UNKNOWN


def _guard(recorder, body):
    def run():
        try:
            body()
        except Exception as e:  # a bug of the harness itself: fail the run rather than lose a thread quietly
            import traceback
            recorder.errors.append(traceback.format_exc())
            recorder.stop_event.set()
            raise e
    return run


class KvClient:
    """put / get / CAS / delete on the registers; bound to one member, or moving on after an error."""

    def __init__(self, recorder, index, endpoints, bound):
        self.r, self.index, self.endpoints, self.bound = recorder, index, endpoints, bound
        self.rng = random.Random("%d/kv/%d" % (recorder.seed, index))
        self.target = bound if bound is not None else self.rng.randrange(len(endpoints))
        self.reads = {}  # key -> (value, mod_revision) this client last read
        self.counter = 0

    def run(self):
        ep = self.endpoints[self.target]
        channel = ep.channel()
        stub = etcdrpc.KVStub(channel)
        while not self.r.stop_event.is_set():
            ok = self.one(stub, ep.name)
            if not ok:
                time.sleep(0.2)
                if self.bound is None:
                    self.target = (self.target + 1) % len(self.endpoints)
                    channel.close()
                    ep = self.endpoints[self.target]
                    channel = ep.channel()
                    stub = etcdrpc.KVStub(channel)
        channel.close()

    def one(self, stub, member):
        key = "k/%d" % self.rng.randrange(KEYS)
        roll = self.rng.random()
        if roll < 0.08:
            return self.two_key_txn(stub, member, key)
        if roll < 0.35:
            self.counter += 1
            value = "c%d-%d" % (self.index, self.counter)
            op = self.r.new_op(self.index, member, PUT, key=key, value=value)
            try:
                resp = stub.Put(etcdrpc.PutRequest(key=_b(key), value=_b(value)), timeout=OP_TIMEOUT_S)
                op.header_rev = resp.header.revision
                self.r.complete(op)
            except grpc.RpcError as e:
                self.r.complete(op, e)
                return False
        elif roll < 0.7:
            op = self.r.new_op(self.index, member, GET, key=key)
            try:
                resp = stub.Range(etcdrpc.RangeRequest(key=_b(key), serializable=self.r.stale_reads), timeout=OP_TIMEOUT_S)
                op.header_rev = resp.header.revision
                if resp.kvs:
                    op.found, op.mod_rev = _s(resp.kvs[0].value), resp.kvs[0].mod_revision
                self.reads[key] = (op.found, op.mod_rev or 0)
                self.r.complete(op)
            except grpc.RpcError as e:
                self.r.complete(op, e, read=True)
                return False
        elif roll < 0.88:
            expect, expect_rev = self.reads.get(key, (None, 0))
            self.counter += 1
            value = "c%d-%d" % (self.index, self.counter)
            op = self.r.new_op(self.index, member, CAS, key=key, value=value, expect=expect, expect_rev=expect_rev)
            request = etcdrpc.TxnRequest(
                compare=[etcdrpc.Compare(key=_b(key), target=etcdrpc.Compare.MOD, result=etcdrpc.Compare.EQUAL,
                                         mod_revision=expect_rev)],
                success=[etcdrpc.RequestOp(request_put=etcdrpc.PutRequest(key=_b(key), value=_b(value)))],
                failure=[etcdrpc.RequestOp(request_range=etcdrpc.RangeRequest(key=_b(key)))])
            try:
                resp = stub.Txn(request, timeout=OP_TIMEOUT_S)
                op.header_rev = resp.header.revision
                op.succeeded = resp.succeeded
                if not resp.succeeded:
                    kvs = resp.responses[0].response_range.kvs
                    op.found = _s(kvs[0].value) if kvs else None
                    self.reads[key] = (op.found, kvs[0].mod_revision if kvs else 0)
                else:
                    self.reads[key] = (value, resp.header.revision)
                self.r.complete(op)
            except grpc.RpcError as e:
                self.r.complete(op, e)
                return False
        else:
            op = self.r.new_op(self.index, member, DELETE, key=key)
            try:
                resp = stub.DeleteRange(etcdrpc.DeleteRangeRequest(key=_b(key)), timeout=OP_TIMEOUT_S)
                op.header_rev = resp.header.revision
                op.deleted = resp.deleted
                self.r.complete(op)
            except grpc.RpcError as e:
                self.r.complete(op, e)
                return False
        return True


    def two_key_txn(self, stub, member, key):
        """A txn putting unique values on two registers: recorded as two puts of one group (same invoke,
        completion, outcome and revision), which must share one mod_revision wherever they are seen."""
        other = "k/%d" % ((int(key[2:]) + 1 + self.rng.randrange(KEYS - 1)) % KEYS)
        ops = []
        for k in (key, other):
            self.counter += 1
            ops.append(self.r.new_op(self.index, member, PUT, key=k, value="c%d-%d" % (self.index, self.counter)))
        group = ops[0].id
        for op in ops:
            op.group = group
            op.invoke_ns = ops[0].invoke_ns
        puts = [etcdrpc.RequestOp(request_put=etcdrpc.PutRequest(key=_b(op.key), value=_b(op.value))) for op in ops]
        request = etcdrpc.TxnRequest(success=puts)
        try:
            resp = stub.Txn(request, timeout=OP_TIMEOUT_S)
            for op in ops:
                op.header_rev = resp.header.revision
                self.r.complete(op)
            ops[1].complete_ns = ops[0].complete_ns
            return True
        except grpc.RpcError as e:
            for op in ops:
                self.r.complete(op, e)
            ops[1].complete_ns = ops[0].complete_ns
            return False


class LeaseClient:
    """Grants a lease, puts a few keys l/<n>/<i> attached to it, reads them, revokes it; again."""

    def __init__(self, recorder, index, endpoints):
        self.r, self.index, self.endpoints = recorder, index, endpoints
        self.rng = random.Random("%d/lease/%d" % (recorder.seed, index))
        self.target = self.rng.randrange(len(endpoints))

    def run(self):
        round_number = 0
        while not self.r.stop_event.is_set():
            ep = self.endpoints[self.target]
            channel = ep.channel()
            try:
                round_number += 1
                if not self.round(etcdrpc.KVStub(channel), etcdrpc.LeaseStub(channel), ep.name, round_number):
                    self.target = (self.target + 1) % len(self.endpoints)
                    time.sleep(0.02)
            finally:
                channel.close()

    def round(self, kv, lease, member, n):
        try:
            lease_id = lease.LeaseGrant(etcdrpc.LeaseGrantRequest(TTL=LEASE_TTL_S), timeout=OP_TIMEOUT_S).ID
        except grpc.RpcError:
            return False  # a lease granted or not: no key is attached to it either way
        keys = ["l/%d-%d/%d" % (self.index, n, i) for i in range(self.rng.randint(1, 3))]
        for key in keys:
            value = "lease-%d-%d-%s" % (self.index, n, key)
            op = self.r.new_op(100 + self.index, member, PUT, key=key, value=value, lease=lease_id)
            try:
                resp = kv.Put(etcdrpc.PutRequest(key=_b(key), value=_b(op.value), lease=lease_id), timeout=OP_TIMEOUT_S)
                op.header_rev = resp.header.revision
                self.r.complete(op)
            except grpc.RpcError as e:
                self.r.complete(op, e)
        for key in keys:
            op = self.r.new_op(100 + self.index, member, GET, key=key)
            try:
                resp = kv.Range(etcdrpc.RangeRequest(key=_b(key)), timeout=OP_TIMEOUT_S)
                op.header_rev = resp.header.revision
                if resp.kvs:
                    op.found, op.mod_rev = _s(resp.kvs[0].value), resp.kvs[0].mod_revision
                self.r.complete(op)
            except grpc.RpcError as e:
                self.r.complete(op, e, read=True)
        time.sleep(self.rng.uniform(0, 0.2))
        op = self.r.new_op(100 + self.index, member, REVOKE, keys=keys, lease=lease_id)
        while True:
            try:
                resp = lease.LeaseRevoke(etcdrpc.LeaseRevokeRequest(ID=lease_id), timeout=OP_TIMEOUT_S)
                op.header_rev = resp.header.revision
                self.r.complete(op)
                return True
            except grpc.RpcError as e:
                self.r.complete(op, e)
                if op.outcome == FAILED or self.r.stop_event.is_set():  # not found: revoked by an earlier try
                    return False
                # retry (elsewhere) so leases do not pile up: the retry is a new op; this one stays unknown
                self.target = (self.target + 1) % len(self.endpoints)
                ep = self.endpoints[self.target]
                lease = etcdrpc.LeaseStub(ep.channel())
                member = ep.name
                op = self.r.new_op(100 + self.index, member, REVOKE, keys=keys, lease=lease_id)
                time.sleep(0.05)


class Watcher:
    """A logical watcher on a prefix or one key: sessions of 0.5-3 s on a member (closed by the client
    deadline, a WatchCancelRequest or an error), each resumed at the last seen revision + 1, on another member after an
    error; starts at the current revision or an older one; a compaction cancel (or chance) ends it and a
    new one starts."""

    def __init__(self, recorder, index, endpoints, key, range_end):
        self.r, self.index, self.endpoints, self.key, self.range_end = recorder, index, endpoints, key, range_end
        self.rng = random.Random("%d/watch/%d" % (recorder.seed, index))
        self.target = self.rng.randrange(len(endpoints))
        self.generation = 0

    def run(self):
        while not self.r.stop_event.is_set():
            self.generation += 1
            watcher_id = "w%d.%d" % (self.index, self.generation)
            start = 0 if self.rng.random() < 0.5 else max(1, self.r.newest_rev - self.rng.randint(1, 400))
            last_seen = None
            while not self.r.stop_event.is_set():
                rev = start if last_seen is None else last_seen + 1
                seen, compacted = self.session(watcher_id, rev)
                if seen is not None:
                    last_seen = seen
                elif last_seen is None and start == 0:
                    break  # no created response: the window never started; begin a new watcher
                if compacted or self.rng.random() < NEW_WATCHER_CHANCE:
                    break

    def session(self, watcher_id, start_rev):
        """One stream. Returns (last seen revision or None, compacted)."""
        ep = self.endpoints[self.target]
        s = WatchSession(watcher_id, ep.name, self.key, self.range_end, start_rev)
        requests = queue.Queue()
        create = etcdrpc.WatchCreateRequest(key=_b(self.key), start_revision=start_rev, progress_notify=True)
        if self.range_end is not None:
            create.range_end = _b(self.range_end)
        requests.put(etcdrpc.WatchRequest(create_request=create))

        def request_iterator():
            while True:
                item = requests.get()
                if item is None:
                    return
                yield item

        channel = ep.channel()
        last_seen, compacted, created = None, False, False
        # some sessions end by the client's WatchCancelRequest after a few responses, the rest by deadline
        cancel_after = self.rng.randint(1, 20) if self.rng.random() < CANCEL_CHANCE else None
        try:
            call = etcdrpc.WatchStub(channel).Watch(request_iterator(), timeout=self.rng.uniform(0.5, 3.0))
            for resp in call:
                rec = dict(header_rev=resp.header.revision, created=resp.created, canceled=resp.canceled,
                           compact_revision=resp.compact_revision,
                           progress=not resp.created and not resp.canceled and not resp.events,
                           events=[("DELETE" if e.type == 1 else "PUT", _s(e.kv.key),
                                    None if e.type == 1 else _s(e.kv.value), e.kv.mod_revision) for e in resp.events])
                s.responses.append(rec)
                if resp.created:
                    created = True
                    if start_rev == 0:
                        last_seen = resp.header.revision
                if resp.canceled:
                    compacted = resp.compact_revision != 0
                    break
                if rec["progress"]:
                    last_seen = max(last_seen or 0, resp.header.revision)
                for e in rec["events"]:
                    last_seen = max(last_seen or 0, e[3])
                if resp.events:
                    self.r.saw_revision(resp.header.revision)
                if cancel_after is not None and len(s.responses) > cancel_after:
                    requests.put(etcdrpc.WatchRequest(cancel_request=etcdrpc.WatchCancelRequest(watch_id=resp.watch_id)))
                    cancel_after = None
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
                self.target = (self.target + 1) % len(self.endpoints)
                time.sleep(0.05)
        finally:
            requests.put(None)
            channel.close()
        if created or s.responses:
            with self.r.lock:
                self.r.history.watches.append(s)
        if not created and start_rev > 0:
            return start_rev - 1, False  # nothing seen: resume at the same revision
        return last_seen, compacted


def compactor(recorder, endpoints):
    rng = random.Random("%d/compact" % recorder.seed)
    compacted = 0
    while not recorder.stop_event.wait(COMPACT_EVERY_S):
        target = recorder.newest_rev - COMPACT_KEEP
        if target <= compacted:
            continue
        ep = endpoints[rng.randrange(len(endpoints))]
        channel = ep.channel()
        try:
            etcdrpc.KVStub(channel).Compact(etcdrpc.CompactionRequest(revision=target), timeout=OP_TIMEOUT_S)
            compacted = target
        except grpc.RpcError:
            pass
        finally:
            channel.close()


def revision_sampler(recorder, endpoints):
    """Serializable reads of each member (its own applied revision) every SAMPLE_EVERY_S."""
    channels = {}
    while not recorder.stop_event.wait(SAMPLE_EVERY_S):
        for ep in endpoints:
            if ep.name not in channels:
                channels[ep.name] = ep.channel()
            invoke = time.monotonic_ns()
            try:
                resp = etcdrpc.KVStub(channels[ep.name]).Range(
                    etcdrpc.RangeRequest(key=b"k/0", serializable=True), timeout=0.3)
            except grpc.RpcError:
                continue
            with recorder.lock:
                recorder.history.revision_samples.append((ep.name, invoke, time.monotonic_ns(), resp.header.revision))
    for c in channels.values():
        c.close()


class Traffic:
    """All the client threads of a run; start(), then stop() joins them."""

    def __init__(self, history, seed, endpoints, per_member=2, roaming=2, watchers=6):
        self.recorder = Recorder(history, seed)
        r = self.recorder
        bodies = []
        index = 0
        for m in range(len(endpoints)):
            for _ in range(per_member):
                bodies.append(KvClient(r, index, endpoints, m).run)
                index += 1
        for _ in range(roaming):
            bodies.append(KvClient(r, index, endpoints, None).run)
            index += 1
        bodies.append(LeaseClient(r, 0, endpoints).run)
        ranges = [("k/", _prefix_end("k/")), ("l/", _prefix_end("l/")), ("k/1", None)]
        for w in range(watchers):
            key, end = ranges[w % len(ranges)]
            bodies.append(Watcher(r, w, endpoints, key, end).run)
        bodies.append(lambda: compactor(r, endpoints))
        bodies.append(lambda: revision_sampler(r, endpoints))
        self.threads = [threading.Thread(target=_guard(r, b), daemon=True) for b in bodies]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.recorder.stop_event.set()
        for t in self.threads:
            t.join(30)
        return [t for t in self.threads if t.is_alive()]
