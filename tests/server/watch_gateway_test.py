"""tests/server/watch_gateway_test.py - Watch fragment and progress_notify, and the JSON gateway's
streaming endpoints (/v3/watch, /v3/lease/keepalive, /v3/maintenance/snapshot), against the real binary.

Watch requests use stubs generated at test time by protoc from proto/etcd (etcd_stubs.py: Debian's
python3-etcd3 stubs predate the `fragment` field) and grpcio's generic stream API. Each server is stopped
by PID.
"""
import base64
import json
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ringkv_process import RingkvServer  # noqa: E402

import grpc  # noqa: E402

from etcd_stubs import load_rpc_stubs  # noqa: E402

rpc_pb2, STUBS_DIR = load_rpc_stubs("ringkv-watch-stubs-")

PROGRESS_INTERVAL_S = 0.5
VALUE_BYTES = 300 * 1024  # 8 of these exceed --max-request-bytes (1.5 MiB) but fit gRPC's 4 MiB


def b64(text):
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


class WatchClient:
    """One Watch stream: requests go in through a queue, responses are collected by a thread."""

    def __init__(self, endpoint):
        self.channel = grpc.insecure_channel(endpoint, options=[("grpc.max_receive_message_length", 64 << 20)])
        method = self.channel.stream_stream("/etcdserverpb.Watch/Watch",
                                            request_serializer=rpc_pb2.WatchRequest.SerializeToString,
                                            response_deserializer=rpc_pb2.WatchResponse.FromString)
        self.requests = queue.Queue()
        self.responses = queue.Queue()
        self.call = method(iter(self.requests.get, None))
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        try:
            for response in self.call:
                self.responses.put((time.monotonic(), response))
        except grpc.RpcError:
            pass

    def create(self, **fields):
        self.requests.put(rpc_pb2.WatchRequest(create_request=rpc_pb2.WatchCreateRequest(**fields)))
        _, created = self.next(5)
        assert created.created, created
        return created.watch_id

    def next(self, timeout):
        return self.responses.get(timeout=timeout)

    def close(self):
        self.requests.put(None)
        self.call.cancel()
        self.channel.close()


class Fragment(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = RingkvServer().start()
        cls.values = [bytes([65 + i]) * VALUE_BYTES for i in range(8)]
        # Puts go through python grpc (etcdctl cannot take 300 KiB arguments).
        channel = grpc.insecure_channel(cls.server.endpoint)
        put = channel.unary_unary("/etcdserverpb.KV/Put", request_serializer=rpc_pb2.PutRequest.SerializeToString,
                                  response_deserializer=rpc_pb2.PutResponse.FromString)
        cls.first_revision = None
        for i, value in enumerate(cls.values):
            revision = put(rpc_pb2.PutRequest(key=b"big/%d" % i, value=value)).header.revision
            cls.first_revision = cls.first_revision or revision
        channel.close()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def watch_history(self, fragment):
        client = WatchClient(self.server.endpoint)
        try:
            client.create(key=b"big/", range_end=b"big0", start_revision=self.first_revision, fragment=fragment)
            responses, events = [], 0
            while events < len(self.values):
                # The whole history (over 2 MiB) must arrive without the client sending anything more:
                # the connection's writer keeps going after a full output batch.
                _, response = client.next(10)
                responses.append(response)
                events += len(response.events)
            return responses
        finally:
            client.close()

    def test_fragments_reassemble_to_exactly_the_events(self):
        responses = self.watch_history(fragment=True)
        self.assertGreater(len(responses), 1)
        self.assertEqual([r.fragment for r in responses], [True] * (len(responses) - 1) + [False])
        for response in responses:
            self.assertLess(response.ByteSize(), 1572864 + 512 * 1024)  # etcd: max request + gRPC overhead
        # Real etcd 3.4 sends these eight 300 KiB events as 6 + 2 (measured with the same requests).
        self.assertEqual([len(r.events) for r in responses], [6, 2])
        events = [e for r in responses for e in r.events]
        self.assertEqual([e.kv.key for e in events], [b"big/%d" % i for i in range(len(self.values))])
        self.assertEqual([e.kv.value for e in events], self.values)

    def test_without_fragment_the_response_comes_whole(self):
        responses = self.watch_history(fragment=False)
        self.assertEqual(len(responses), 1)
        self.assertFalse(responses[0].fragment)
        self.assertEqual(len(responses[0].events), len(self.values))


class WatchIds(unittest.TestCase):
    """Watch ids are per stream, from 0, or the client's watch_id; refusals as etcd 3.4 answers them
    (the expected list was recorded from a real etcd 3.4 with the same requests)."""

    def test_ids_and_refusals_match_etcd(self):
        server = RingkvServer().start()
        client = WatchClient(server.endpoint)
        try:
            def create(**fields):
                client.requests.put(rpc_pb2.WatchRequest(create_request=rpc_pb2.WatchCreateRequest(**fields)))
            create(key=b"a")
            create(key=b"b")
            create(key=b"c", watch_id=5)
            create(key=b"d", watch_id=5)
            create(key=b"e")
            create(key=b"z", range_end=b"a")
            create(key=b"f", watch_id=2)
            client.requests.put(rpc_pb2.WatchRequest(cancel_request=rpc_pb2.WatchCancelRequest(watch_id=1)))
            client.requests.put(rpc_pb2.WatchRequest(cancel_request=rpc_pb2.WatchCancelRequest(watch_id=77)))
            create(key=b"g")
            got = []
            for _ in range(9):
                _, r = client.next(5)
                got.append((r.watch_id, r.created, r.canceled, r.cancel_reason))
            duplicate = "mvcc: duplicate watch ID provided on the WatchStream"
            self.assertEqual(got, [(0, True, False, ""), (1, True, False, ""), (5, True, False, ""),
                                   (-1, True, True, duplicate), (2, True, False, ""),
                                   (-1, True, True, "mvcc: watcher range is empty"), (-1, True, True, duplicate),
                                   (1, False, True, ""), (3, True, False, "")])  # unknown id 77: no answer
            server.etcdctl("put", "g", "v")  # events carry the stream's id
            _, event = client.next(5)
            self.assertEqual((event.watch_id, event.events[0].kv.key), (3, b"g"))
            client.close()
            deadline = time.time() + 5
            while metric(server, "etcd_debugging_mvcc_watcher_total") != 0 and time.time() < deadline:
                time.sleep(0.05)
            self.assertEqual(metric(server, "etcd_debugging_mvcc_watcher_total"), 0)
        finally:
            client.close()
            server.cleanup()


class ProgressNotify(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = RingkvServer(["--experimental-watch-progress-notify-interval", "%dms" %
                                   int(PROGRESS_INTERVAL_S * 1000)]).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def test_idle_watcher_gets_progress_busy_one_does_not_early(self):
        idle = WatchClient(self.server.endpoint)
        busy = WatchClient(self.server.endpoint)
        plain = WatchClient(self.server.endpoint)
        try:
            idle_id = idle.create(key=b"idle", progress_notify=True)
            busy_id = busy.create(key=b"busy", progress_notify=True)
            plain.create(key=b"idle")  # no progress_notify: never notified
            started = time.monotonic()
            stop = time.monotonic() + 4 * PROGRESS_INTERVAL_S
            while time.monotonic() < stop:  # the busy key changes every 100 ms
                self.server.etcdctl("put", "busy", "v")
                time.sleep(0.1)
            at, progress = idle.next(1)
            self.assertEqual((progress.watch_id, len(progress.events)), (idle_id, 0))
            self.assertLess(at - started, 2.2 * PROGRESS_INTERVAL_S)  # within ~2 intervals
            self.assertGreater(progress.header.revision, 1)
            while True:  # the busy watcher only got its events: no progress while events flowed
                try:
                    at, response = busy.next(0.2)
                except queue.Empty:
                    break
                if at < stop - 0.2:
                    self.assertEqual(response.watch_id, busy_id)
                    self.assertGreater(len(response.events), 0, "progress notification on a busy watcher")
            with self.assertRaises(queue.Empty):
                plain.next(1.5 * PROGRESS_INTERVAL_S)
        finally:
            for client in (idle, busy, plain):
                client.close()

    def test_bad_interval_is_refused(self):
        result = subprocess.run([self.server.proc.args[0], "--experimental-watch-progress-notify-interval", "500"],
                                capture_output=True, text=True, timeout=10)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("experimental-watch-progress-notify-interval", result.stderr + result.stdout)


def http_stream(endpoint, path, body):
    """POSTs `body` and returns (socket, file): read lines from the file, close the socket to leave."""
    host, port = endpoint.split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    sock.sendall(b"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                 % (path.encode(), endpoint.encode(), len(data)) + data)
    reader = sock.makefile("rb")
    status = reader.readline()
    headers = {}
    while True:
        line = reader.readline().strip()
        if not line:
            break
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    return HttpStream(sock, reader), reader, status, headers


class HttpStream:
    """The client end of a streaming request: close() really closes the socket (a makefile() reader
    keeps it open otherwise)."""

    def __init__(self, sock, reader):
        self.sock, self.reader = sock, reader

    def close(self):
        self.reader.close()
        self.sock.close()


def read_chunks(reader):
    """Yields each chunk's bytes until the last (empty) chunk."""
    while True:
        size = int(reader.readline().strip(), 16)
        if size == 0:
            reader.readline()
            return
        data = reader.read(size)
        reader.readline()
        yield data


def json_lines(reader):
    buffered = b""
    for chunk in read_chunks(reader):
        buffered += chunk
        while b"\n" in buffered:
            line, buffered = buffered.split(b"\n", 1)
            yield json.loads(line)


def metric(server, name):
    match = re.search(r"^%s (\S+)$" % name, server.http_get("/metrics"), re.M)
    return float(match.group(1)) if match else None


class StreamingGateway(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Two shards: HTTP connections and the gateway's internal connections land on either one.
        cls.server = RingkvServer(["--shards", "2"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def wait_metric(self, name, value):
        deadline = time.time() + 5
        while metric(self.server, name) != value and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(metric(self.server, name), value)

    def test_watch_streams_a_later_put_and_ends_when_the_client_leaves(self):
        for prefix in ("/v3", "/v3beta"):
            sock, reader, status, headers = http_stream(self.server.endpoint, prefix + "/watch",
                                                        {"create_request": {"key": b64("gw/w")}})
            self.assertIn(b" 200 ", status)
            self.assertEqual(headers.get("transfer-encoding"), "chunked")
            lines = json_lines(reader)
            self.assertTrue(next(lines)["result"]["created"])
            self.wait_metric("etcd_debugging_mvcc_watcher_total", 1)
            self.server.etcdctl("put", "gw/w", "v-" + prefix)
            event = next(lines)["result"]["events"][0]
            self.assertEqual((event["kv"]["key"], event["kv"]["value"]), (b64("gw/w"), b64("v-" + prefix)))
            sock.close()  # the client goes away: the stream and its watcher are gone
            self.wait_metric("etcd_debugging_mvcc_watcher_total", 0)
            self.wait_metric("etcd_debugging_mvcc_watch_stream_total", 0)

    def test_watch_body_with_several_requests_and_bad_json(self):
        # etcd's gateway sends every JSON value of the body as one request on the stream.
        stream, reader, status, _ = http_stream(self.server.endpoint, "/v3/watch",
                                                b'{"create_request":{"key":"eA=="}} {"progress_request":{}}')
        lines = json_lines(reader)
        self.assertTrue(next(lines)["result"]["created"])
        self.assertEqual(next(lines)["result"]["watch_id"], "-1")  # the progress response
        stream.close()
        stream, reader, status, _ = http_stream(self.server.endpoint, "/v3/watch", b"notjson")
        self.assertIn(b" 500 ", status)  # as etcd's gateway: Unknown (2), 500, before any stream
        body = reader.read()
        stream.close()
        self.assertEqual(json.loads(body)["code"], 2)
        self.wait_metric("etcd_debugging_mvcc_watcher_total", 0)

    def test_lease_keepalive_renews(self):
        granted = json.loads(self.post("/v3/lease/grant", {"TTL": 5}))
        time.sleep(1.2)
        before = int(json.loads(self.post("/v3/lease/timetolive", {"ID": granted["ID"]}))["TTL"])
        self.assertLess(before, 5)
        sock, reader, status, _ = http_stream(self.server.endpoint, "/v3/lease/keepalive", {"ID": granted["ID"]})
        results = list(json_lines(reader))  # one request in the body: one answer, then the stream ends
        sock.close()
        self.assertEqual(len(results), 1)
        self.assertEqual((results[0]["result"]["ID"], results[0]["result"]["TTL"]), (granted["ID"], "5"))
        after = int(json.loads(self.post("/v3/lease/timetolive", {"ID": granted["ID"]}))["TTL"])
        self.assertGreater(after, before)

    def test_snapshot_matches_etcdctl_snapshot_save(self):
        for i in range(50):
            self.server.etcdctl("put", "snap/%d" % i, "value-%d" % i)
        directory = tempfile.mkdtemp(prefix="ringkv-snap-", dir="/tmp")
        try:
            path = os.path.join(directory, "saved.db")
            self.server.etcdctl("snapshot", "save", path)
            with open(path, "rb") as f:
                saved = f.read()
            sock, reader, status, _ = http_stream(self.server.endpoint, "/v3/maintenance/snapshot", {})
            blobs = [base64.b64decode(line["result"].get("blob", "")) for line in json_lines(reader)]
            sock.close()
            # etcdctl writes every streamed byte (the sha256 trailer included), as with real etcd.
            self.assertEqual(b"".join(blobs), saved)
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    def post(self, path, body):
        import urllib.request
        request = urllib.request.Request("http://%s%s" % (self.server.endpoint, path),
                                         data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read()


class ShutdownWithOpenStream(unittest.TestCase):
    def test_sigterm_ends_an_open_gateway_watch(self):
        server = RingkvServer().start()
        try:
            sock, reader, status, _ = http_stream(server.endpoint, "/v3/watch", {"create_request": {"key": b64("k")}})
            next(json_lines(reader))
            started = time.monotonic()
            self.assertEqual(server.stop(), 0)  # exits cleanly and promptly with the stream open
            self.assertLess(time.monotonic() - started, 5)
            sock.close()
        finally:
            server.cleanup()


if __name__ == "__main__":
    try:
        unittest.main(verbosity=2)
    finally:
        shutil.rmtree(STUBS_DIR, ignore_errors=True)
