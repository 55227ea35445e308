"""tests/server/client_attacks_test.py - hostile clients on the client port of the real binary (issue 14).

One ringkv (default flags) faces, one attack per test, played with raw sockets (HTTP/2 frames and HPACK
built here): HTTP/1.1 headers trickling in (slowloris), a unary gRPC request that never ends, 100,000
streams on one connection (etcd 3.4's default --max-concurrent-streams is 2^32-1: the per-connection
memory bound refuses them), a rapid reset flood, a CONTINUATION flood, PINGs more often than
--grpc-keepalive-min-time, and the JSON gateway with chunked bodies (curl) and duplicate Content-Length.
After each: the member is up, its RSS stays under RSS_GROWTH_BOUND_MB over its size at start, and etcdctl
alongside still puts and reads back a key within ETCDCTL_SECONDS_MAX.
Usage: client_attacks_test.py path/to/ringkv
"""
import base64
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ringkv_process import RINGKV, RingkvServer, small_asan_quarantine_env  # noqa: E402,F401

# The connection memory bound is 64 MiB; 80,000 Watch streams also cost the watch service (and, from a
# shard other than 0, the relay) their own state: measured +98 to +189 MiB peak over the start.
RSS_GROWTH_BOUND_MB = 256
# Under AddressSanitizer the member runs with a small quarantine and twice the bound (ringkv_process.py).
ASAN_RSS_GROWTH_BOUND_MB = 2 * RSS_GROWTH_BOUND_MB
ETCDCTL_SECONDS_MAX = 5.0
PREFACE_TIMEOUT_S = 10      # client_connection.h preface_timeout (covers the first HTTP/1.1 request)
REQUEST_END_TIMEOUT_S = 30  # grpc_server_session.h request_end_timeout

DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, CONTINUATION = 0x0, 0x1, 0x3, 0x4, 0x6, 0x7, 0x9
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1
CANCEL, REFUSED_STREAM, ENHANCE_YOUR_CALM = 0x8, 0x7, 0xb
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
RANGE = "/etcdserverpb.KV/Range"
WATCH = "/etcdserverpb.Watch/Watch"


def frame(kind, flags, stream_id, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream_id) + payload


def hpack_int(value, prefix_bits, first_bits=0):
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first_bits | value])
    out = [first_bits | limit]
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def hpack_string(text):
    data = text.encode()
    return hpack_int(len(data), 7) + data


def request_block(path):
    """HPACK, no dynamic table: :method POST, :scheme http (static), :path, content-type, te."""
    return (b"\x83\x86" + hpack_int(4, 4) + hpack_string(path) + hpack_int(31, 4) + hpack_string("application/grpc")
            + b"\x00" + hpack_string("te") + hpack_string("trailers"))


def grpc_message(body=b""):
    return b"\x00" + struct.pack(">I", len(body)) + body


class RawH2:
    """A raw HTTP/2 client connection; a thread collects the server's frames until it closes."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.frames = []
        self.closed_at = None
        self.lock = threading.Lock()
        self.send_lock = threading.Lock()  # the reader thread sends SETTINGS ACKs: frames must not interleave
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.send(PREFACE + frame(SETTINGS, 0, 0))

    def send(self, data):
        try:
            with self.send_lock:
                self.sock.sendall(data)
            return True
        except OSError:
            return False

    def _read(self):
        buffer = b""
        self.sock.settimeout(None)
        while True:
            try:
                chunk = self.sock.recv(1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                break
            buffer += chunk
            while len(buffer) >= 9:
                length = int.from_bytes(buffer[:3], "big")
                if len(buffer) < 9 + length:
                    break
                kind, flags = buffer[3], buffer[4]
                stream_id = int.from_bytes(buffer[5:9], "big") & 0x7FFFFFFF
                with self.lock:
                    self.frames.append((kind, flags, stream_id, buffer[9:9 + length]))
                if kind == SETTINGS and not flags & ACK:
                    self.send(frame(SETTINGS, ACK, 0))
                buffer = buffer[9 + length:]
        self.closed_at = time.time()

    def frames_of(self, kind):
        with self.lock:
            return [f for f in self.frames if f[0] == kind]

    def wait_for(self, predicate, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if predicate():
                return True
            time.sleep(0.05)
        return predicate()

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.reader.join(5)


def goaway_code(goaway):
    payload = goaway[3]
    return int.from_bytes(payload[4:8], "big"), payload[8:]


class ClientAttacks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = RingkvServer(env=small_asan_quarantine_env()).start()
        cls.baseline_rss_mb = cls.rss_mb()
        cls.sanitized = cls.server.sanitized()
        cls.rss_bound_mb = ASAN_RSS_GROWTH_BOUND_MB if cls.sanitized else RSS_GROWTH_BOUND_MB

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    @classmethod
    def rss_mb(cls):
        with open("/proc/%d/status" % cls.server.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
        raise AssertionError("no VmRSS")

    def setUp(self):
        self.peak_rss_mb = self.rss_mb()
        self.sampling = True
        self.sampler = threading.Thread(target=self._sample_rss, daemon=True)
        self.sampler.start()

    def _sample_rss(self):
        while self.sampling:
            try:
                self.peak_rss_mb = max(self.peak_rss_mb, self.rss_mb())
            except (OSError, AssertionError):
                return
            time.sleep(0.05)

    def tearDown(self):
        self.sampling = False
        self.sampler.join(2)

    def assert_member_fine(self, label):
        """The member is up, its memory bounded, and etcdctl puts and reads back within the limit."""
        self.assertIsNone(self.server.proc.poll(), "ringkv died during " + label)
        growth = self.peak_rss_mb - self.baseline_rss_mb
        sys.stderr.write("%s: peak RSS %.1f MiB (start %.1f MiB, +%.1f, bound %d%s)\n" % (
            label, self.peak_rss_mb, self.baseline_rss_mb, growth, self.rss_bound_mb,
            ", ASan build" if self.sanitized else ""))
        self.assertLess(growth, self.rss_bound_mb, label)
        started = time.time()
        self.server.etcdctl("put", "alongside/" + label, "fine")
        got = self.server.etcdctl("get", "alongside/" + label, "--print-value-only").stdout.strip()
        took = time.time() - started
        self.assertEqual(got, "fine")
        self.assertLess(took, ETCDCTL_SECONDS_MAX, "%s: etcdctl took %.2f s" % (label, took))

    # ---- HTTP/1.1 ----

    def test_slowloris_headers_are_cut_at_the_deadline(self):
        victims = []
        for _ in range(50):
            s = socket.create_connection(("127.0.0.1", self.server.port), timeout=5)
            s.sendall(b"GET /health HTTP/1.1\r\n")
            victims.append(s)
        started = time.time()
        closed = {}
        while len(closed) < len(victims) and time.time() - started < PREFACE_TIMEOUT_S + 10:
            for i, s in enumerate(victims):
                if i in closed:
                    continue
                try:
                    s.sendall(b"X-Slow: 1\r\n")  # one header line a second, never the blank line
                    s.settimeout(0.01)
                    if s.recv(1) == b"":
                        closed[i] = time.time() - started
                except (BlockingIOError, socket.timeout):
                    pass
                except OSError:
                    closed[i] = time.time() - started
            time.sleep(1)
        for s in victims:
            s.close()
        self.assertEqual(len(closed), len(victims), "slow connections still open")
        self.assertGreaterEqual(min(closed.values()), PREFACE_TIMEOUT_S - 2)
        self.assertLessEqual(max(closed.values()), PREFACE_TIMEOUT_S + 5)
        self.assert_member_fine("slowloris")

    def test_chunked_gateway_put_with_curl(self):
        url = "http://%s/v3/kv/put" % self.server.endpoint
        body = json.dumps({"key": base64.b64encode(b"chunked/key").decode(),
                           "value": base64.b64encode(b"sent in chunks").decode()})
        out = subprocess.run(["curl", "-sS", "-H", "Transfer-Encoding: chunked", "--data-binary", "@-", url],
                             input=body, capture_output=True, text=True, timeout=20)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("header", json.loads(out.stdout))
        self.assertEqual(self.server.etcdctl("get", "chunked/key", "--print-value-only").stdout.strip(),
                         "sent in chunks")
        # A chunked body over the cap (twice the gRPC receive limit: 2 * (1.5 MiB + 512 KiB)) is refused.
        big = json.dumps({"key": base64.b64encode(b"chunked/big").decode(), "value": "A" * (5 << 20)})
        out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                              "Transfer-Encoding: chunked", "--data-binary", "@-", url],
                             input=big, capture_output=True, text=True, timeout=30)
        self.assertEqual(out.stdout, "413", out.stderr)
        self.assert_member_fine("chunked")

    def test_duplicate_content_length_is_a_bad_request(self):
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=5)
        s.sendall(b"POST /v3/kv/range HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 20\r\n\r\n{}")
        reply = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
        s.close()
        self.assertTrue(reply.startswith(b"HTTP/1.1 400 "), reply)
        self.assert_member_fine("content-length")

    # ---- HTTP/2 ----

    def test_unary_request_without_end_stream_is_reset(self):
        conn = RawH2(self.server.port)
        conn.send(frame(HEADERS, END_HEADERS, 1, request_block(RANGE)) + frame(DATA, 0, 1, grpc_message()))
        started = time.time()
        self.assert_member_fine("never-ending unary (while open)")
        reset = conn.wait_for(lambda: any(f[2] == 1 for f in conn.frames_of(RST_STREAM)),
                              REQUEST_END_TIMEOUT_S + 10)
        waited = time.time() - started
        self.assertTrue(reset, "no RST_STREAM for the unfinished request")
        rst = [f for f in conn.frames_of(RST_STREAM) if f[2] == 1][0]
        self.assertEqual(int.from_bytes(rst[3], "big"), CANCEL)
        self.assertGreaterEqual(waited, REQUEST_END_TIMEOUT_S - 8)
        conn.close()
        self.assert_member_fine("never-ending unary")

    def test_100k_streams_on_one_connection_are_bounded(self):
        conn = RawH2(self.server.port)
        block = request_block(WATCH)
        stream_id = 1
        sent_streams = 0
        for _ in range(100):
            batch = b"".join(frame(HEADERS, END_HEADERS, stream_id + 2 * i, block) for i in range(1000))
            stream_id += 2000
            if not conn.send(batch):
                break
            sent_streams += 1000
        conn.wait_for(lambda: conn.closed_at is not None, 3)
        refused = sum(1 for f in conn.frames_of(RST_STREAM) if int.from_bytes(f[3], "big") == REFUSED_STREAM)
        sys.stderr.write("100k streams: %d sent, %d refused, closed: %s\n" % (
            sent_streams, refused, conn.closed_at is not None))
        self.assertTrue(refused > 0 or conn.closed_at is not None, "every stream was taken")
        self.assert_member_fine("100k streams (while open)")
        conn.close()
        self.assert_member_fine("100k streams")

    def test_rapid_reset_flood_ends_the_connection(self):
        conn = RawH2(self.server.port)
        block = request_block(RANGE)
        stream_id = 1
        for _ in range(20):
            batch = b""
            for _ in range(1000):
                batch += (frame(HEADERS, END_HEADERS, stream_id, block) + frame(DATA, END_STREAM, stream_id, grpc_message())
                          + frame(RST_STREAM, 0, stream_id, struct.pack(">I", CANCEL)))
                stream_id += 2
            if not conn.send(batch):
                break
        # nghttp2's reset rate limit (1,000 at once, then 33 a second) answers with GOAWAY and the
        # connection ends once its open streams are done.
        self.assertTrue(conn.wait_for(lambda: conn.closed_at is not None, 10), "the flooding connection is still open")
        self.assertTrue(conn.frames_of(GOAWAY), "no GOAWAY")
        conn.close()
        self.assert_member_fine("rapid reset")

    def test_continuation_flood_ends_the_connection(self):
        conn = RawH2(self.server.port)
        conn.send(frame(HEADERS, 0, 1, request_block(RANGE)))
        header = b"\x00" + hpack_string("x-flood") + hpack_string("y" * 100)
        for _ in range(100):
            if not conn.send(b"".join(frame(CONTINUATION, 0, 1, header) for _ in range(100))):
                break
        # nghttp2 takes at most 8 CONTINUATION frames (server_limits::max_continuation_frames), then the
        # connection is closed at once.
        self.assertTrue(conn.wait_for(lambda: conn.closed_at is not None, 10), "the flooding connection is still open")
        conn.close()
        self.assert_member_fine("continuation flood")

    def test_pings_more_often_than_min_time_get_too_many_pings(self):
        conn = RawH2(self.server.port)
        for i in range(5):
            conn.send(frame(PING, 0, 0, struct.pack(">Q", i)))
            time.sleep(0.1)
        self.assertTrue(conn.wait_for(lambda: conn.closed_at is not None, 10), "the pinging connection is still open")
        goaways = conn.frames_of(GOAWAY)
        self.assertTrue(goaways, "no GOAWAY")
        self.assertEqual(goaway_code(goaways[-1]), (ENHANCE_YOUR_CALM, b"too_many_pings"))
        conn.close()
        self.assert_member_fine("pings")


if __name__ == "__main__":
    unittest.main()
