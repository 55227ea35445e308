"""tests/robustness/checkers_test.py (suite robustness) - each checker of the robustness suite fed
hand-written histories: the known-good ones must pass, the known-bad ones (a stale read, a lost or
resurrected write, a CAS that should have failed, a watch that skips, repeats, reorders, splits a
revision, resumes at the wrong place or goes below a progress notification, a member whose revision goes
back) must fail."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from history import Op, WatchSession, History, OK, FAILED, UNKNOWN, PUT, GET, CAS, DELETE, REVOKE  # noqa: E402
from linearizability import check_linearizable, check_revisions  # noqa: E402
from watch_checker import check_watches, check_member_revisions, put_events  # noqa: E402
from settle import settle_unknown  # noqa: E402

_ids = iter(range(1, 1 << 30))


def op(kind, t0, t1, key="k", outcome=OK, **fields):
    """An op invoked at t0 and completed at t1 (seconds; t1 None for unknown)."""
    o = Op(next(_ids), 0, "m1", kind, key=key, value=fields.pop("value", None), expect=fields.pop("expect", None),
           keys=fields.pop("keys", None), invoke_ns=int(t0 * 1e9))
    o.outcome = outcome
    o.complete_ns = None if outcome == UNKNOWN else int(t1 * 1e9)
    for name, v in fields.items():
        setattr(o, name, v)
    return o


class Linearizability(unittest.TestCase):
    def test_sequential_puts_and_reads_pass(self):
        h = [op(PUT, 0, 1, value="a", header_rev=2), op(GET, 2, 3, found="a", mod_rev=2, header_rev=2),
             op(PUT, 4, 5, value="b", header_rev=3), op(GET, 6, 7, found="b", mod_rev=3, header_rev=3),
             op(DELETE, 8, 9, deleted=1, header_rev=4), op(GET, 10, 11, found=None, header_rev=4)]
        self.assertEqual(check_linearizable(h), [])
        self.assertEqual(check_revisions(h), [])

    def test_stale_read_fails(self):
        h = [op(PUT, 0, 1, value="a"), op(PUT, 2, 3, value="b"), op(GET, 4, 5, found="a")]
        failures = check_linearizable(h)
        self.assertEqual(len(failures), 1)
        self.assertIn("not linearizable", failures[0])

    def test_concurrent_ops_may_take_either_order(self):
        h = [op(PUT, 0, 10, value="a"), op(PUT, 1, 9, value="b"), op(GET, 2, 3, found="b"),
             op(GET, 4, 5, found="a"), op(GET, 11, 12, found="a")]
        self.assertEqual(check_linearizable(h), [])
        h.append(op(GET, 13, 14, found="b"))  # b came back after a was read past both puts' completion
        self.assertEqual(len(check_linearizable(h)), 1)

    def test_unknown_put_may_apply_late_or_never(self):
        late = [op(PUT, 0, 1, value="a"), op(PUT, 2, None, value="b", outcome=UNKNOWN),
                op(GET, 3, 4, found="a"), op(GET, 50, 51, found="b")]
        self.assertEqual(check_linearizable(late), [])
        never = [op(PUT, 0, 1, value="a"), op(PUT, 2, None, value="b", outcome=UNKNOWN), op(GET, 50, 51, found="a")]
        self.assertEqual(check_linearizable(never), [])
        before_invoke = [op(PUT, 0, 1, value="a"), op(GET, 2, 3, found="b"), op(PUT, 5, None, value="b", outcome=UNKNOWN)]
        self.assertEqual(len(check_linearizable(before_invoke)), 1)
        flip_back = late + [op(GET, 60, 61, found="a")]  # b applied once cannot be undone
        self.assertEqual(len(check_linearizable(flip_back)), 1)

    def test_failed_write_must_not_apply(self):
        h = [op(PUT, 0, 1, value="a"), op(PUT, 2, 3, value="b", outcome=FAILED), op(GET, 4, 5, found="b")]
        self.assertEqual(len(check_linearizable(h)), 1)

    def test_cas(self):
        good = [op(PUT, 0, 1, value="a"), op(CAS, 2, 3, expect="a", value="c", succeeded=True),
                op(CAS, 4, 5, expect="a", value="d", succeeded=False, found="c"), op(GET, 6, 7, found="c")]
        self.assertEqual(check_linearizable(good), [])
        wrong_success = [op(PUT, 0, 1, value="a"), op(PUT, 2, 3, value="b"),
                         op(CAS, 4, 5, expect="a", value="c", succeeded=True)]
        self.assertEqual(len(check_linearizable(wrong_success)), 1)
        wrong_failure = [op(PUT, 0, 1, value="a"), op(CAS, 2, 3, expect="a", value="c", succeeded=False, found="a")]
        self.assertEqual(len(check_linearizable(wrong_failure)), 1)
        on_absent = [op(CAS, 0, 1, expect=None, value="x", succeeded=True), op(GET, 2, 3, found="x")]
        self.assertEqual(check_linearizable(on_absent), [])

    def test_delete_and_revoke(self):
        resurrected = [op(PUT, 0, 1, value="a"), op(DELETE, 2, 3, deleted=1), op(GET, 4, 5, found="a")]
        self.assertEqual(len(check_linearizable(resurrected)), 1)
        double = [op(PUT, 0, 1, value="a"), op(DELETE, 2, 3, deleted=1), op(DELETE, 4, 5, deleted=1)]
        self.assertEqual(len(check_linearizable(double)), 1)
        revoked = [op(PUT, 0, 1, key="l1", value="a"), op(PUT, 0, 1, key="l2", value="b"),
                   op(REVOKE, 2, 3, key=None, keys=["l1", "l2"]),
                   op(GET, 4, 5, key="l1", found=None), op(GET, 4, 5, key="l2", found="b")]
        failures = check_linearizable(revoked)
        self.assertEqual(len(failures), 1)
        self.assertIn("'l2'", failures[0])

    def test_many_concurrent_unknown_ops_are_decided(self):
        h = []
        for i in range(200):
            h.append(op(PUT, i, None if i % 3 == 0 else i + 2.5, value="v%d" % i,
                        outcome=UNKNOWN if i % 3 == 0 else OK))
            h.append(op(GET, i + 1.5, i + 1.6, found="v%d" % i))
        self.assertEqual(check_linearizable(h), [])

    def test_revision_going_back_fails(self):
        h = [op(PUT, 0, 1, value="a", header_rev=5), op(GET, 2, 3, key="j", found=None, header_rev=4)]
        self.assertEqual(len(check_revisions(h)), 1)
        same_rev_write = [op(PUT, 0, 1, value="a", header_rev=5), op(PUT, 2, 3, key="j", value="b", header_rev=5)]
        self.assertEqual(len(check_revisions(same_rev_write)), 1)
        two_revs = [op(PUT, 0, 1, value="a", header_rev=5), op(GET, 2, 3, found="a", mod_rev=6, header_rev=6)]
        self.assertEqual(len(check_revisions(two_revs)), 1)
        self.assertEqual(len(check_revisions([op(PUT, 0, 1, value="a", header_rev=5)], [("k", "a", 7)])), 1)

    def test_multi_key_txn_seen_at_two_revisions_fails(self):
        txn = [op(PUT, 0, 1, key="a", value="x", header_rev=5, group=1), op(PUT, 0, 1, key="b", value="y", header_rev=5, group=1)]
        self.assertEqual(check_revisions(txn, [("a", "x", 5), ("b", "y", 5)]), [])
        unknown = [op(PUT, 0, None, key="a", value="x", outcome=UNKNOWN, group=1),
                   op(PUT, 0, None, key="b", value="y", outcome=UNKNOWN, group=1)]
        self.assertEqual(check_revisions(unknown, [("a", "x", 5), ("b", "y", 5)]), [])
        failures = check_revisions(unknown, [("a", "x", 5), ("b", "y", 6)])
        self.assertTrue(any("not atomic" in f for f in failures), failures)


def session(watcher, start_rev, *responses, key="k/", range_end="k0"):
    s = WatchSession(watcher, "m1", key, range_end, start_rev)
    s.responses = [dict(r) for r in responses]
    return s


def created(rev):
    return dict(header_rev=rev, created=True, events=[])


def events(rev, *evs):
    return dict(header_rev=rev, events=[tuple(e) for e in evs])


def progress(rev):
    return dict(header_rev=rev, progress=True, events=[])


class Watches(unittest.TestCase):
    def setUp(self):
        self.ops = [op(PUT, 0, 1, key="k/a", value="a1", header_rev=2), op(PUT, 2, 3, key="k/b", value="b1", header_rev=3),
                    op(DELETE, 4, 5, key="k/a", deleted=1, header_rev=4), op(PUT, 6, 7, key="k/a", value="a2", header_rev=5)]
        self.e2, self.e3 = ("PUT", "k/a", "a1", 2), ("PUT", "k/b", "b1", 3)
        self.e4, self.e5 = ("DELETE", "k/a", None, 4), ("PUT", "k/a", "a2", 5)

    def good(self):
        return [session(1, 2, created(1), events(3, self.e2, self.e3), events(5, self.e4), events(5, self.e5)),
                session(2, 0, created(3), events(4, self.e4), progress(4)),
                session(2, 5, created(5), events(5, self.e5)),
                session(3, 0, created(1), events(3, self.e2), events(5, self.e4, self.e5), key="k/a", range_end=None)]

    def test_good_watchers_pass(self):
        sessions = self.good()
        self.assertEqual(check_watches(sessions, self.ops), [])
        self.assertEqual(check_revisions(self.ops, put_events(sessions)), [])

    def assertFails(self, sessions, text):
        failures = check_watches(sessions, self.ops)
        self.assertTrue(any(text in f for f in failures), failures)

    def test_gap_fails(self):
        self.assertFails([session(1, 2, created(1), events(3, self.e2), events(5, self.e4))], "reliable")

    def test_duplicate_fails(self):
        self.assertFails([session(1, 2, created(1), events(3, self.e2, self.e3), events(4, self.e3, self.e4))], "unique")

    def test_reorder_fails(self):
        self.assertFails([session(1, 2, created(1), events(3, self.e3, self.e2))], "ordered")

    def test_split_revision_fails(self):
        a, b = ("DELETE", "k/x", None, 6), ("DELETE", "k/y", None, 6)
        self.assertFails([session(1, 6, created(5), events(6, a), events(6, b))], "atomic")

    def test_wrong_resume_fails(self):
        self.assertFails([session(2, 0, created(3), events(4, self.e4)), session(2, 6, created(5))], "resumed")

    def test_event_below_progress_fails(self):
        self.assertFails([session(1, 2, created(1), progress(3), events(3, self.e2, self.e3))], "bookmarkable")

    def test_watchers_disagreeing_fail(self):
        other = ("PUT", "k/b", "a1", 3)
        self.assertFails([session(1, 2, created(1), events(3, self.e2, self.e3)),
                          session(2, 2, created(1), events(3, self.e2, other))], "disagree")

    def test_phantom_value_fails(self):
        self.assertFails([session(1, 2, created(1), events(2, ("PUT", "k/c", "never", 2)))], "no client put")

    def test_history_round_trips_through_json(self):
        h = History()
        h.ops, h.watches, h.revision_samples = self.ops, self.good(), [("m1", 0, 1, 3)]
        path = "/tmp/ringkv-robustness-checkers-%d.json" % os.getpid()
        try:
            h.save(path)
            loaded = History.load(path)
        finally:
            os.unlink(path)
        self.assertEqual(check_watches(loaded.watches, loaded.ops), [])
        self.assertEqual([o.to_dict() for o in loaded.ops], [o.to_dict() for o in self.ops])


class Settle(unittest.TestCase):
    def test_unknown_put_seen_by_a_read_must_precede_it(self):
        h = [op(PUT, 0, 1, value="a", header_rev=2), op(PUT, 2, None, value="b", outcome=UNKNOWN),
             op(GET, 3, 4, found="b", mod_rev=3, header_rev=3), op(GET, 5, 6, found="a", mod_rev=2, header_rev=3)]
        ops, stats = settle_unknown(h, [])
        self.assertEqual(stats, {"required": 1, "dropped": 0})
        self.assertEqual(len(check_linearizable(ops)), 1)  # b was read, so a cannot come back
        self.assertEqual(check_linearizable(ops[:3]), [])

    def test_unseen_unknown_put_is_left_out_only_under_full_watch_coverage(self):
        h = [op(PUT, 0, 1, key="k/a", value="a", header_rev=2), op(PUT, 2, None, key="k/a", value="x", outcome=UNKNOWN),
             op(PUT, 3, 4, key="k/a", value="c", header_rev=3)]
        full = session(1, 2, created(1), events(3, ("PUT", "k/a", "a", 2)), events(3, ("PUT", "k/a", "c", 3)))
        self.assertEqual(settle_unknown(h, [full])[1], {"required": 0, "dropped": 1})
        partial = session(1, 3, created(2), events(3, ("PUT", "k/a", "c", 3)))
        partial.responses = partial.responses[:1]  # the window never reached revision 3
        self.assertEqual(settle_unknown(h, [partial])[1], {"required": 0, "dropped": 0})


class MemberRevisions(unittest.TestCase):
    def test_monotonic_across_restart_passes_and_going_back_fails(self):
        good = [("m1", 0, 1, 5), ("m1", 2, 3, 7), ("m2", 0, 1, 9), ("m1", 10, 11, 7), ("m1", 2.5, 12, 6)]
        self.assertEqual(check_member_revisions(good), [])  # the last read overlaps the one that saw 7
        bad = good + [("m1", 20, 21, 6)]
        self.assertEqual(len(check_member_revisions(bad)), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
