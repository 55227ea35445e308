"""tests/robustness/watch_checker.py - etcd's watch guarantees checked on recorded watch sessions.

A logical watcher is a chain of sessions: the first starts at a revision (0: current, then its window
starts after the created response's header revision), each next one resumes at the last revision the
watcher saw + 1. Its window ends at the newest revision it saw (an event, or a progress notification,
which etcd only sends to a watcher that is caught up). A session cancelled for compaction ends the chain.
Checked per logical watcher:
- ordered, unique, atomic: event revisions never go down; a (revision, key) pair never repeats; all
  events of one revision come in one response (so across responses revisions strictly increase);
- resumable: each resumed session starts at the last seen revision + 1 (and the rules above hold across
  the resume);
- bookmarkable: after a progress notification at R no event at or below R arrives;
- in range and in window: every event is on the watched keys, at or after the start revision;
- reliable: every acknowledged write on a watched key whose revision is inside the window is delivered
  (same revision, key, type and value);
Across watchers: for each revision, every watcher whose window covers it reports the same events on the
keys both watch; and no PUT event carries a value no client ever tried to put on that key.
"""
from history import FAILED, PUT, CAS, DELETE

EVENT_PUT, EVENT_DELETE = "PUT", "DELETE"


class LogicalWatcher:
    def __init__(self, sessions):
        self.sessions = sessions
        self.id = sessions[0].watcher
        self.events = []      # (rev, key, type, value) in arrival order
        self.start = None     # first revision of the window
        self.end = None       # last revision of the window
        self.compacted = False


def _fmt(session, index, resp):
    ev = ", ".join("%s %s=%r@%d" % (t, k, v, r) for t, k, v, r in resp["events"])
    if resp.get("canceled"):
        kind = "canceled(compact %s)" % resp.get("compact_revision")
    else:
        kind = "progress" if resp.get("progress") else "created" if resp.get("created") else "events"
    return "watcher %s session start %s on %s: response %d header %s %s [%s]" % (
        session.watcher, session.start_rev, session.member, index, resp["header_rev"], kind, ev)


def _check_one(w, failures):
    last_rev = None          # highest event revision delivered
    seen = set()
    progress_floor = None    # highest progress notification revision
    last_response = None
    for s_index, session in enumerate(w.sessions):
        if s_index > 0:
            expected = max(r for r in (last_rev, progress_floor, w.start - 1) if r is not None) + 1
            if session.start_rev != expected:
                failures.append("watcher %s resumed at %s, not at the last seen revision + 1 = %s"
                                % (w.id, session.start_rev, expected))
        for index, resp in enumerate(session.responses):
            where = _fmt(session, index, resp)
            if resp.get("created"):
                if w.start is None:
                    w.start = session.start_rev if session.start_rev > 0 else resp["header_rev"] + 1
                continue
            if resp.get("canceled"):
                compact = resp.get("compact_revision") or 0
                if compact:
                    if compact <= session.start_rev:
                        failures.append("cancelled for compaction at %s though it started at %s: %s"
                                        % (compact, session.start_rev, where))
                    w.compacted = True
                continue
            if resp.get("progress"):
                if progress_floor is None or resp["header_rev"] > progress_floor:
                    progress_floor = resp["header_rev"]
                continue
            if w.start is None:
                w.start = session.start_rev
            revs = [e[3] for e in resp["events"]]
            if revs != sorted(revs):
                failures.append("ordered: revisions go down inside one response: %s" % where)
            if last_rev is not None and revs and revs[0] <= last_rev:
                failures.append("ordered/atomic/unique: revision %d after revision %d was delivered: %s\n  previous: %s"
                                % (revs[0], last_rev, where, last_response))
            if progress_floor is not None and revs and revs[0] <= progress_floor:
                failures.append("bookmarkable: event at %d after a progress notification at %d: %s"
                                % (revs[0], progress_floor, where))
            for etype, key, value, rev in resp["events"]:
                if (rev, key) in seen:
                    failures.append("unique: %s at %d delivered twice: %s" % (key, rev, where))
                seen.add((rev, key))
                if not session.in_range(key):
                    failures.append("event on an unwatched key %r: %s" % (key, where))
                if rev < session.start_rev:
                    failures.append("event at %d before the start revision %d: %s" % (rev, session.start_rev, where))
                w.events.append((rev, key, etype, value))
            if revs:
                last_rev = max(revs)
            last_response = where
        if w.compacted:
            break
    w.end = max([r for r in (last_rev, progress_floor) if r is not None] or [0])


def logical_watchers(sessions, failures):
    """The logical watchers of the sessions, their events and windows; per-watcher violations appended to
    failures."""
    chains = {}
    for s in sessions:
        chains.setdefault(s.watcher, []).append(s)
    watchers = [LogicalWatcher(chain) for chain in chains.values()]
    for w in watchers:
        _check_one(w, failures)
    return watchers


def check_watches(sessions, ops):
    """sessions: every WatchSession; ops: the KV history. Returns failure descriptions."""
    failures = []
    watchers = logical_watchers(sessions, failures)
    # Agreement between watchers: the first report of (revision, key) is the reference.
    truth = {}  # rev -> {key: (type, value, watcher)}
    for w in watchers:
        for rev, key, etype, value in w.events:
            ref = truth.setdefault(rev, {}).setdefault(key, (etype, value, w.id))
            if ref[:2] != (etype, value):
                failures.append("watchers disagree at revision %d on %r: watcher %s saw %s %r, watcher %s saw %s %r"
                                % (rev, key, ref[2], ref[0], ref[1], w.id, etype, value))
    for w in watchers:
        if w.start is None:
            continue
        mine = {}
        for rev, key, etype, value in w.events:
            mine.setdefault(rev, set()).add(key)
        in_range = w.sessions[0].in_range
        for rev in range(w.start, w.end + 1):
            expected = {k for k in truth.get(rev, {}) if in_range(k)}
            missing = expected - mine.get(rev, set())
            if missing:
                failures.append("reliable/atomic: watcher %s (window %d..%d) lacks %s at revision %d that watcher %s saw"
                                % (w.id, w.start, w.end, sorted(missing), rev, truth[rev][sorted(missing)[0]][2]))
        # Acknowledged writes inside the window.
        delivered = {(rev, key): (etype, value) for rev, key, etype, value in w.events}
        for op in ops:
            if not op.mutated() or not in_range(op.key) or not (w.start <= op.header_rev <= w.end):
                continue
            want = (EVENT_DELETE, None) if op.kind == DELETE else (EVENT_PUT, op.value)
            got = delivered.get((op.header_rev, op.key))
            if got != want:
                failures.append("reliable: watcher %s (window %d..%d) got %r for the acknowledged %r"
                                % (w.id, w.start, w.end, got, op))
    # No phantom values.
    tried = {(o.key, o.value) for o in ops if o.kind in (PUT, CAS) and o.outcome != FAILED}
    for rev, by_key in truth.items():
        for key, (etype, value, wid) in by_key.items():
            if etype == EVENT_PUT and (key, value) not in tried:
                failures.append("watcher %s got PUT %r=%r at %d, a value no client put" % (wid, key, value, rev))
    return failures[:20]


def put_events(sessions):
    """(key, value, mod_rev) of every PUT event, for the one-revision-per-value check."""
    return [(k, v, r) for s in sessions for resp in s.responses for t, k, v, r in resp["events"] if t == EVENT_PUT]


def check_member_revisions(samples):
    """samples: (member, invoke_ns, complete_ns, revision) of reads served by one member (serializable),
    across its restarts: a read invoked after another completed on the same member never sees an older
    revision. Returns failure descriptions."""
    failures = []
    by_member = {}
    for s in samples:
        by_member.setdefault(s[0], []).append(s)
    for member, rows in sorted(by_member.items()):
        done = sorted(rows, key=lambda s: s[2])
        newest, j = None, 0
        for b in sorted(rows, key=lambda s: s[1]):
            while j < len(done) and done[j][2] < b[1]:
                if newest is None or done[j][3] > newest[3]:
                    newest = done[j]
                j += 1
            if newest is not None and b[3] < newest[3]:
                failures.append("member %s went back from revision %d (read done at %.3f) to %d (read started at %.3f)"
                                % (member, newest[3], newest[2] / 1e9, b[3], b[1] / 1e9))
                break
    return failures
