"""tests/server/slow_watchers_test.py - watch streams whose client stops reading cost the real server
bounded memory and catch up exactly once when the client continues; a compaction meanwhile cancels them
with etcd's compacted answer (issue 16, server/api/watch_service.h).

The client is tests/server/stalled_watch_client.py (STREAMS streams over CHANNELS connections), stopped
with SIGSTOP by PID while this process writes PUTS values of VALUE_BYTES, then continued with SIGCONT.
Without the limits the server would queue STREAMS * PUTS * VALUE_BYTES (~600 MiB) for it. Every process
started here is stopped by PID.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ringkv_process import RingkvServer, small_asan_quarantine_env  # noqa: E402

import grpc  # noqa: E402

from etcd_stubs import load_rpc_stubs  # noqa: E402

rpc_pb2, STUBS_DIR = load_rpc_stubs("ringkv-slow-watchers-stubs-")

CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stalled_watch_client.py")
STREAMS = 200
CHANNELS = 4
PUTS = 3000
VALUE_BYTES = 1024
PUTS_IN_FLIGHT = 64
# What the server's RSS may grow while the client is stopped: the stored values and their raft entries
# (~2 x 3 MiB), the watch streams' queues (bounded by watch_stream_queued_bytes_limit and
# watch_connection_queued_bytes_limit) and each connection's HTTP/2 output batch (1 MiB). Twice that
# under AddressSanitizer (its redzones; its quarantine is made small: ringkv_process.py).
RSS_GROWTH_MAX_BYTES = 96 * 1024 * 1024
# server/api/watch_service.h's limits, and what one event adds to a response (value, key, revisions).
STREAM_LIMIT_BYTES = 64 * 1024
CONNECTION_LIMIT_BYTES = 4 * 1024 * 1024
EVENT_BYTES_MAX = VALUE_BYTES + 1024
CATCH_UP_TIMEOUT_S = 90


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1)) * 1024


class StalledClient:
    """The client process, started and stopped by PID."""

    def __init__(self, endpoint, start_revision, channels):
        self.proc = subprocess.Popen(["/usr/bin/python3", CLIENT, endpoint, str(STREAMS), str(channels),
                                      str(start_revision)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if json.loads(line or "{}").get("ready") != STREAMS:
            self.kill()
            raise RuntimeError("the watch client did not get ready: %r" % line)

    def stop(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume_and_read(self, until):
        os.kill(self.proc.pid, signal.SIGCONT)
        self.proc.stdin.write(json.dumps({"until": until, "timeout_s": CATCH_UP_TIMEOUT_S}) + "\n")
        self.proc.stdin.flush()
        summary = json.loads(self.proc.stdout.readline() or "{}")
        print("watch client:", summary, file=sys.stderr)
        self.proc.wait(30)
        self.proc.stdin.close()
        self.proc.stdout.close()
        return summary

    def kill(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            pipe.close()


class SlowWatchers(unittest.TestCase):
    def setUp(self):
        self.server = RingkvServer(env=small_asan_quarantine_env()).start()
        self.rss_growth_max = RSS_GROWTH_MAX_BYTES * (2 if self.server.sanitized() else 1)
        self.channel = grpc.insecure_channel(self.server.endpoint)
        self.put = self.channel.unary_unary("/etcdserverpb.KV/Put", request_serializer=rpc_pb2.PutRequest.SerializeToString,
                                            response_deserializer=rpc_pb2.PutResponse.FromString)
        self.compact = self.channel.unary_unary(
            "/etcdserverpb.KV/Compact", request_serializer=rpc_pb2.CompactionRequest.SerializeToString,
            response_deserializer=rpc_pb2.CompactionResponse.FromString)
        self.client = None

    def tearDown(self):
        if self.client:
            self.client.kill()
        self.channel.close()
        self.server.cleanup()

    def revision(self):
        return self.put(rpc_pb2.PutRequest(key=b"setup", value=b"x")).header.revision

    def put_all(self, on_progress):
        """PUTS puts, PUTS_IN_FLIGHT at a time (one revision each); returns the last revision."""
        value = b"v" * VALUE_BYTES
        last = 0
        for first in range(0, PUTS, PUTS_IN_FLIGHT):
            calls = [self.put.future(rpc_pb2.PutRequest(key=b"k/%d" % i, value=value), timeout=30)
                     for i in range(first, min(first + PUTS_IN_FLIGHT, PUTS))]
            last = max(last, max(c.result().header.revision for c in calls))
            on_progress()
        return last

    def metric(self, name):
        found = re.search(r"^%s (\S+)$" % name, self.server.http_get("/metrics"), re.M)
        return float(found.group(1)) if found else 0.0

    def stall_and_write(self, channels):
        """Starts the client at the next revision, stops it, writes; returns (first and last revision of
        the writes, RSS growth, the most the watch streams had queued)."""
        start = self.revision() + 1
        self.client = StalledClient(self.server.endpoint, start, channels)
        pid = self.server.proc.pid
        time.sleep(0.2)
        before = rss_bytes(pid)
        self.client.stop()
        peak, queued = [before], [0.0]

        def sample():
            peak.append(rss_bytes(pid))
            queued.append(self.metric("ringkv_watch_queued_bytes"))
        last = self.put_all(sample)
        time.sleep(0.5)  # the last pumps
        sample()
        print("server RSS %.1f MiB before, %.1f MiB peak while the client was stopped; watch streams queued "
              "%.1f MiB at most" % (before / 2**20, max(peak) / 2**20, max(queued) / 2**20), file=sys.stderr)
        self.assertGreater(self.metric("ringkv_watch_pauses_total"), 0,
                           "the watch streams never filled up: the test did not stall them")
        return start, last, max(peak) - before, max(queued)

    def test_stopped_client_costs_bounded_memory_then_gets_every_event_once(self):
        start, last, growth, queued = self.stall_and_write(CHANNELS)
        self.assertEqual(last - start + 1, PUTS)
        self.assertLess(growth, self.rss_growth_max, "RSS grew %.1f MiB" % (growth / 2**20))
        # STREAMS / CHANNELS streams per connection stay under its limit: each stream holds at most its
        # own limit plus one batch (what PUTS_IN_FLIGHT puts make at most).
        self.assertLessEqual(queued, STREAMS * (STREAM_LIMIT_BYTES + PUTS_IN_FLIGHT * EVENT_BYTES_MAX))
        summary = self.client.resume_and_read(last)
        self.assertEqual(summary["errors"], [])
        self.assertEqual(summary["complete"], STREAMS)
        self.assertEqual(summary["events"], STREAMS * PUTS)  # each revision once, in order (checked per stream)

    def test_compaction_past_a_stopped_client_cancels_its_watchers_as_etcd(self):
        # All streams on one connection: STREAMS * STREAM_LIMIT_BYTES (12.5 MiB) is over the connection's
        # limit, so past it each stream fills only up to its share of it (then one event at most).
        start, last, growth, queued = self.stall_and_write(1)
        self.assertLess(growth, self.rss_growth_max, "RSS grew %.1f MiB" % (growth / 2**20))
        self.assertLessEqual(queued, 2 * CONNECTION_LIMIT_BYTES + STREAMS * EVENT_BYTES_MAX)
        self.compact(rpc_pb2.CompactionRequest(revision=last, physical=True), timeout=30)
        summary = self.client.resume_and_read(last)
        self.assertEqual(summary["errors"], [])
        # A watcher still paused when the compaction came is canceled; one that had been handed
        # everything before (its events sat in buffers) completes.
        self.assertEqual(summary["complete"] + summary["canceled"], STREAMS)
        self.assertGreater(summary["canceled"], STREAMS // 2)
        # etcd 3.4's answer to a watcher behind the compaction (v3rpc/watch.go; etcd 3.4.23 answers
        # `etcdctl watch --rev` below a compaction with the same fields): canceled, compact_revision, a
        # header without revision, no reason, no events; each stream's only watcher is id 0.
        self.assertEqual(summary["cancels"], [{"header_revision": 0, "watch_id": 0, "canceled": True,
                                               "created": False, "compact_revision": last, "cancel_reason": "",
                                               "events": 0}])
        self.assertLess(summary["stopped_before"][1], last)  # each still needed a compacted revision
        self.assertGreaterEqual(summary["stopped_before"][0], start)
        self.assertGreater(self.revision(), last)  # the server goes on


if __name__ == "__main__":
    try:
        unittest.main(verbosity=2)
    finally:
        shutil.rmtree(STUBS_DIR, ignore_errors=True)
