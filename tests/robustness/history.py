"""tests/robustness/history.py - the recorded history of a robustness run: one Op per client request
(invoke and completion time in time.monotonic_ns, outcome ok / failed / unknown, arguments and result),
one WatchSession per watch stream, and the per-member revision samples.

Outcome rules: "ok" is a response; "failed" is an error that proves the request had no effect (a read
that failed, a write refused before it was proposed: lease not found, invalid argument); "unknown" is
any other error of a write (timeout, connection lost, leader changed): it may have taken effect at any
time after its invoke, or never. Unknown ops have complete_ns None.
"""
import json

OK, FAILED, UNKNOWN = "ok", "failed", "unknown"
# Kinds of KV op. put/cas/delete/revoke change the store; get reads it (linearizable).
PUT, GET, CAS, DELETE, REVOKE = "put", "get", "cas", "delete", "revoke"
MUTATING = (PUT, CAS, DELETE, REVOKE)


class Op:
    """One client request.
    put: key, value.  get: key -> found (value or None), mod_rev.  cas: key, expect (value or None, the
    value the client read with the mod_revision it compares), value -> succeeded, found (the value the
    failure branch read).  delete: key -> deleted (count).  revoke: keys (attached to the lease).
    header_rev: the response header's revision; for a put, the revision of the write. A txn putting several
    keys is recorded as one put per key, all with the same group."""

    __slots__ = ("id", "client", "member", "kind", "key", "keys", "value", "expect", "expect_rev", "lease",
                 "invoke_ns", "complete_ns", "outcome", "found", "mod_rev", "succeeded", "deleted",
                 "header_rev", "error", "group")

    def __init__(self, id, client, member, kind, key=None, value=None, expect=None, expect_rev=None,
                 keys=None, lease=None, invoke_ns=0):
        self.id, self.client, self.member, self.kind = id, client, member, kind
        self.key, self.value, self.expect, self.expect_rev = key, value, expect, expect_rev
        self.keys = keys or ([key] if key is not None else [])
        self.lease = lease
        self.invoke_ns, self.complete_ns = invoke_ns, None
        self.outcome = None
        self.found = self.mod_rev = self.succeeded = self.deleted = self.header_rev = self.error = None
        self.group = None  # the ops of one multi-key txn share a group (the first op's id)

    def to_dict(self):
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def from_dict(cls, d):
        op = cls.__new__(cls)
        for name in cls.__slots__:
            setattr(op, name, d.get(name))
        return op

    def mutated(self):
        """Whether an ok op certainly changed the store (it has a revision of its own)."""
        return self.outcome == OK and (self.kind == PUT or (self.kind == CAS and self.succeeded)
                                       or (self.kind == DELETE and self.deleted))

    def __repr__(self):
        done = "?" if self.complete_ns is None else "%.3f" % (self.complete_ns / 1e9)
        args = {PUT: "%r" % self.value, GET: "", CAS: "if %r(rev %s) then %r" % (self.expect, self.expect_rev, self.value),
                DELETE: "", REVOKE: "lease %s keys %s" % (self.lease, self.keys)}[self.kind]
        result = ""
        if self.outcome == OK:
            result = {PUT: "", GET: "-> %r@%s" % (self.found, self.mod_rev),
                      CAS: "-> %s (read %r)" % (self.succeeded, self.found), DELETE: "-> deleted %s" % self.deleted,
                      REVOKE: ""}[self.kind]
            result += " rev %s" % self.header_rev
        if self.error:
            result += " (%s)" % self.error
        return "#%s c%s@%s [%.3f, %s] %s %s %s %s %s" % (self.id, self.client, self.member, self.invoke_ns / 1e9, done,
                                                          self.kind, self.key if self.kind != REVOKE else "",
                                                          args, self.outcome, result)


class WatchSession:
    """One watch stream of a logical watcher: created at start_rev (0: the current revision) on
    [key, range_end); responses as dicts {header_rev, created, canceled, compact_revision, progress,
    events: [(type, key, value, mod_rev)]}. A logical watcher (watcher id) is resumed by a new session
    starting at its last seen revision + 1."""

    def __init__(self, watcher, member, key, range_end, start_rev):
        self.watcher, self.member, self.key, self.range_end, self.start_rev = watcher, member, key, range_end, start_rev
        self.responses = []

    def in_range(self, key):
        if self.range_end is None:
            return key == self.key
        return self.key <= key and (self.range_end == "\0" or key < self.range_end)

    def to_dict(self):
        return dict(watcher=self.watcher, member=self.member, key=self.key, range_end=self.range_end,
                    start_rev=self.start_rev, responses=self.responses)

    @classmethod
    def from_dict(cls, d):
        s = cls(d["watcher"], d["member"], d["key"], d["range_end"], d["start_rev"])
        s.responses = [dict(r, events=[tuple(e) for e in r["events"]]) for r in d["responses"]]
        return s


class History:
    def __init__(self):
        self.ops = []
        self.watches = []
        self.revision_samples = []  # (member, invoke_ns, complete_ns, revision): serializable reads of one member

    def save(self, path):
        with open(path, "w") as f:
            json.dump(dict(ops=[o.to_dict() for o in self.ops], watches=[w.to_dict() for w in self.watches],
                           revision_samples=self.revision_samples), f)

    @classmethod
    def load(cls, path):
        with open(path) as f:
            d = json.load(f)
        h = cls()
        h.ops = [Op.from_dict(o) for o in d["ops"]]
        h.watches = [WatchSession.from_dict(w) for w in d["watches"]]
        h.revision_samples = [tuple(s) for s in d["revision_samples"]]
        return h
