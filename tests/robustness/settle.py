"""tests/robustness/settle.py - what the rest of the history says about writes with an unknown outcome,
before the linearizability search (whose cost grows with every optional op).

An unknown put or CAS carries a unique value, so:
- if an ok read (a get, a CAS's failure branch or its compare) or a watch event shows its value, it took
  effect: it becomes required, and it must have taken effect before the earliest such read completed;
- if no one ever saw its value and the watchers' windows on its key cover every revision from the newest
  one acknowledged before it was invoked to the newest revision of the history, it never took effect (a
  watcher sees every write in its window: watch_checker checks that), so it is left out.
Other unknown ops (deletes, revokes) stay optional. The ops are copied; the history is not changed.
"""
import bisect
import copy

from history import OK, UNKNOWN, PUT, GET, CAS
from watch_checker import logical_watchers


def _covered(windows, lo, hi):
    """Whether the (start, end) windows together cover every revision lo..hi."""
    reach = lo - 1
    for start, end in sorted(windows):
        if start > reach + 1:
            break
        reach = max(reach, end)
        if reach >= hi:
            return True
    return reach >= hi


def settle_unknown(ops, sessions):
    """Returns (ops for the linearizability search, {"required": n, "dropped": n})."""
    seen_by = {}  # (key, value) -> earliest completion of an ok op that read it (None: only a watch saw it)
    for o in ops:
        if o.outcome != OK:
            continue
        read = None
        if o.kind == GET or (o.kind == CAS and not o.succeeded):
            read = o.found
        elif o.kind == CAS and o.succeeded:
            read = o.expect  # its compare matched the mod_revision read with this value
        if read is not None:
            key = (o.key, read)
            if key not in seen_by or seen_by[key] is None or o.complete_ns < seen_by[key]:
                seen_by[key] = o.complete_ns
    watchers = logical_watchers(sessions, [])
    for w in watchers:
        for rev, key, etype, value in w.events:
            if etype == "PUT":
                seen_by.setdefault((key, value), None)
    newest = max([o.header_rev for o in ops if o.outcome == OK and o.header_rev is not None] + [0])
    acked = sorted((o.complete_ns, o.header_rev) for o in ops if o.outcome == OK and o.header_rev is not None)
    acked_done = [done for done, _ in acked]
    newest_acked = []  # newest_acked[i]: the newest revision among acked[:i + 1]
    for _, rev in acked:
        newest_acked.append(max(rev, newest_acked[-1] if newest_acked else 1))
    result, required, dropped = [], 0, 0
    for o in ops:
        if o.outcome != UNKNOWN or o.kind not in (PUT, CAS):
            result.append(o)
            continue
        if (o.key, o.value) in seen_by:
            settled = copy.copy(o)
            settled.outcome = OK
            settled.complete_ns = seen_by[(o.key, o.value)]  # None: required, no completion bound
            settled.succeeded = True
            settled.error = "unknown; seen, so applied"
            result.append(settled)
            required += 1
            continue
        before = bisect.bisect_left(acked_done, o.invoke_ns)
        floor = newest_acked[before - 1] if before else 1
        windows = [(w.start, w.end) for w in watchers if w.start is not None and w.sessions[0].in_range(o.key)]
        if _covered(windows, floor, newest):
            dropped += 1
            continue
        result.append(o)
    return result, {"required": required, "dropped": dropped}
