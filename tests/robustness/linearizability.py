"""tests/robustness/linearizability.py - linearizability of a recorded KV history, a Wing-Gong-Lowe
search (as porcupine does) over each key's single-register history (linearizability is local, so keys are
checked one by one).

Model: a key's state is its value or None (absent). Values of puts are unique, so the mod_revision a CAS
compares is the value the client read with it. put sets the value; get must return the state; cas
succeeds (and sets its value) exactly when the state is its expected value, else its failure branch reads
the state; delete reports deleted 1 and clears a present key, 0 on an absent one; a lease revoke clears
every attached key. An unknown op may take effect at any point after its invoke, or never; a failed op
never did. The search must place every ok op between its invoke and its completion.

Also here: the revision checks of the same history - an op invoked after another completed never sees
an older header revision (a later write a greater one), a value has one mod_revision everywhere, and the
puts of one multi-key txn share it.
"""
import sys

from history import OK, UNKNOWN, PUT, GET, CAS, DELETE, REVOKE

INFINITY = float("inf")
STEP_BUDGET = 2_000_000  # search steps per key; past it the key is reported as not decided (a failure)


def _apply(state, op):
    """(legal, new state) of op on state; for unknown ops, legal only when it changes something."""
    kind, known = op.kind, op.outcome == OK
    if kind == PUT:
        return True, op.value
    if kind == GET:
        return state == op.found, state
    if kind == CAS:
        if state == op.expect:
            return (op.succeeded if known else True), op.value
        if not known:
            return False, state  # an unknown CAS that cannot succeed changes nothing: no need to place it
        return (not op.succeeded and op.found == state), state
    if kind == DELETE:
        if not known:
            return state is not None, None
        return (op.deleted == (0 if state is None else 1)), None
    if kind == REVOKE:
        return (known or state is not None), None
    raise ValueError(kind)


class KeyResult:
    def __init__(self, key, ok, detail=""):
        self.key, self.ok, self.detail = key, ok, detail


def check_key(key, ops):
    """Searches a linearization of one key's ops (ok and unknown ones). Returns a KeyResult whose detail,
    on failure, shows the deepest linearized prefix's tail and the ops none of which could come next."""
    ops = sorted(ops, key=lambda o: o.invoke_ns)
    n = len(ops)
    invoke = [o.invoke_ns for o in ops]
    ret = [o.complete_ns if o.outcome == OK and o.complete_ns is not None else INFINITY for o in ops]
    required_total = sum(1 for o in ops if o.outcome == OK)
    required = [o.outcome == OK for o in ops]
    # Ops with a completion (in invoke order, scanned from the first not yet placed) and ops without one
    # (unknown, or seen only by a watch: few, checked at every step) are kept apart, so a step costs the
    # window of concurrent ops, not the whole history.
    finite = [i for i in range(n) if ret[i] != INFINITY]
    unbounded = [i for i in range(n) if ret[i] == INFINITY]
    memo = set()
    deepest = {"count": -1, "path": [], "stuck": [], "state": None}
    steps = [0]
    path = []

    def search(done, state, required_left, lo):
        if required_left == 0:
            return True
        steps[0] += 1
        if steps[0] > STEP_BUDGET:
            raise OverflowError
        if (done, state) in memo:
            return False
        memo.add((done, state))
        while lo < len(finite) and (done >> finite[lo]) & 1:
            lo += 1
        collected = []
        cur_min = INFINITY
        for position in range(lo, len(finite)):
            i = finite[position]
            if (done >> i) & 1:
                continue
            if invoke[i] >= cur_min:
                break
            collected.append(i)
            if ret[i] < cur_min:
                cur_min = ret[i]
        collected += [i for i in unbounded if not (done >> i) & 1 and invoke[i] < cur_min]
        candidates = [i for i in collected if invoke[i] < cur_min]
        if required_total - required_left > deepest["count"]:
            deepest.update(count=required_total - required_left, path=list(path), state=state,
                           stuck=[i for i in collected if required[i] or invoke[i] < cur_min])
        # ops with a completion first (they must be placed, and soon); optional ones last
        candidates.sort(key=lambda i: (not required[i], ret[i], invoke[i]))
        for i in candidates:
            legal, new_state = _apply(state, ops[i])
            if not legal:
                continue
            path.append(i)
            if search(done | (1 << i), new_state, required_left - required[i], lo):
                return True
            path.pop()
        return False

    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old_limit, 4 * n + 1000))
    try:
        ok = search(0, None, required_total, 0)
    except OverflowError:
        return KeyResult(key, False, "key %r: search not decided within %d steps (%d ops)" % (key, STEP_BUDGET, n))
    finally:
        sys.setrecursionlimit(old_limit)
    if ok:
        return KeyResult(key, True)
    lines = ["key %r is not linearizable: %d of %d completed ops placed; the last placed ones:"
             % (key, deepest["count"], required_total)]
    lines += ["    %r" % ops[i] for i in deepest["path"][-6:]]
    lines.append("  state then: %r; none of these can come next:" % (deepest["state"],))
    lines += ["    %r" % ops[i] for i in deepest["stuck"][:12]]
    return KeyResult(key, False, "\n".join(lines))


def check_linearizable(ops):
    """Returns the list of failure descriptions (empty when every key's history is linearizable)."""
    by_key = {}
    for op in ops:
        if op.outcome not in (OK, UNKNOWN):
            continue
        if op.kind == GET and op.outcome != OK:
            continue  # a read without an answer constrains nothing
        for key in op.keys:
            by_key.setdefault(key, []).append(op)
    failures = []
    for key in sorted(by_key):
        result = check_key(key, by_key[key])
        if not result.ok:
            failures.append(result.detail)
    return failures


def check_revisions(ops, watch_events=()):
    """An ok op invoked after another ok op completed has a header revision at least as new (greater if
    it wrote); each value has a single mod_revision across put responses, reads and watch events
    ((key, value, mod_rev) triples). Returns failure descriptions."""
    failures = []
    done = sorted((o for o in ops if o.outcome == OK and o.header_rev is not None), key=lambda o: o.complete_ns)
    started = sorted(done, key=lambda o: o.invoke_ns)
    newest, j = None, 0
    for b in started:
        while j < len(done) and done[j].complete_ns < b.invoke_ns:
            if newest is None or done[j].header_rev > newest.header_rev:
                newest = done[j]
            j += 1
        if newest is None:
            continue
        if b.header_rev < newest.header_rev or (b.mutated() and b.header_rev == newest.header_rev):
            failures.append("revision went back: %r\n  completed before it was invoked: %r" % (b, newest))
            if len(failures) > 5:
                break
    revision_of = {}
    observations = [(o.key, o.value, o.header_rev, o) for o in ops if o.kind == PUT and o.outcome == OK]
    observations += [(o.key, o.value, o.header_rev, o) for o in ops if o.kind == CAS and o.outcome == OK and o.succeeded]
    observations += [(o.key, o.found, o.mod_rev, o) for o in ops if o.kind == GET and o.outcome == OK and o.found is not None]
    observations += [(k, v, r, "watch event") for k, v, r in watch_events]
    for key, value, rev, source in observations:
        first = revision_of.setdefault((key, value), (rev, source))
        if first[0] != rev:
            failures.append("value %r of %r has two mod_revisions: %s (%r) and %s (%r)"
                            % (value, key, first[0], first[1], rev, source))
    groups = {}
    for o in ops:
        if o.group is not None and (o.key, o.value) in revision_of:
            groups.setdefault(o.group, []).append(o)
    for members in groups.values():  # a multi-key txn took effect at one revision, or not at all
        revs = {revision_of[(o.key, o.value)][0] for o in members}
        if len(revs) > 1:
            failures.append("txn not atomic: its puts were seen at revisions %s: %s" % (sorted(revs), members))
    return failures
