"""End-to-end test of the wire layer with real etcd clients.

Starts tests/grpc/wire_echo_server (the real net/tcp + net/grpc stack with fixed handlers) on a free
loopback port, then drives it with etcdctl 3.4 (`get foo -w json`), python grpcio with etcd's message
types (unary Range, 500 concurrent calls, bidirectional Watch, unknown method, oversized and malformed
requests), the python3-etcd3 client library, and plain
HTTP/1.1 (/health on the same port), plus raw sockets that misbehave (no preface, a partial preface,
garbage, a CONTINUATION flood, an HTTP/2 connection still open at shutdown): each loses its own connection only.
The server is stopped by PID at the end.
Usage: wire_e2e_test.py <wire_echo_server> <etcdctl>
"""
import base64
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import grpc
from etcd3.etcdrpc import rpc_pb2

failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if not condition:
        failures.append(what)


def call_unary(channel, path, payload):
    method = channel.unary_unary(path, request_serializer=lambda x: x,
                                 response_deserializer=lambda x: x)
    try:
        return grpc.StatusCode.OK, "", method(payload, timeout=10)
    except grpc.RpcError as error:
        return error.code(), error.details(), None


def test_etcdctl(etcdctl, port):
    env = dict(os.environ, ETCDCTL_API="3")
    done = subprocess.run([etcdctl, f"--endpoints=127.0.0.1:{port}", "--dial-timeout=5s",
                           "--command-timeout=10s", "get", "foo", "-w", "json"],
                          env=env, capture_output=True, text=True, timeout=30)
    check(done.returncode == 0, f"etcdctl get exits 0 (stderr: {done.stderr.strip()})")
    if done.returncode != 0:
        return
    reply = json.loads(done.stdout)
    check(reply["header"]["revision"] == 42, "etcdctl sees header.revision 42")
    check(reply["header"]["cluster_id"] == 0x1000, "etcdctl sees the cluster id")
    check(reply["count"] == 1, "etcdctl sees count 1")
    kv = reply["kvs"][0]
    check(base64.b64decode(kv["key"]) == b"foo", "etcdctl gets key foo back")
    check(base64.b64decode(kv["value"]) == b"bar", "etcdctl gets value bar")
    check(kv["mod_revision"] == 42 and kv["version"] == 5, "etcdctl sees mod_revision and version")


def test_grpcio(port):
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    request = rpc_pb2.RangeRequest(key=b"some/key").SerializeToString()
    code, details, raw = call_unary(channel, "/etcdserverpb.KV/Range", request)
    check(code == grpc.StatusCode.OK, f"grpcio Range ok ({code} {details})")
    if raw is not None:
        reply = rpc_pb2.RangeResponse.FromString(raw)
        check(reply.kvs[0].key == b"some/key" and reply.kvs[0].value == b"bar",
              "grpcio Range returns the requested key")

    code, details, _ = call_unary(channel, "/etcdserverpb.KV/Nope", b"")
    check(code == grpc.StatusCode.UNIMPLEMENTED and
          details == "unknown method Nope for service etcdserverpb.KV",
          f"unknown method -> Unimplemented with etcd's text ({code} {details!r})")

    big = rpc_pb2.PutRequest(key=b"k", value=b"x" * (3 * 1024 * 1024)).SerializeToString()
    code, details, _ = call_unary(channel, "/etcdserverpb.KV/Range", big)
    check(code == grpc.StatusCode.RESOURCE_EXHAUSTED and
          details == f"grpc: received message larger than max ({len(big)} vs. 2097152)",
          f"oversized request -> ResourceExhausted ({code} {details!r})")

    code, details, _ = call_unary(channel, "/etcdserverpb.KV/Range", b"\xff\xff\xff")
    check(code == grpc.StatusCode.INTERNAL and details.startswith("grpc: error unmarshalling request"),
          f"malformed request -> Internal unmarshalling error ({code} {details!r})")

    code, _, _ = call_unary(channel, "/etcdserverpb.KV/Range", request)
    check(code == grpc.StatusCode.OK, "the connection still serves after the errors")

    watch = channel.stream_stream("/etcdserverpb.Watch/Watch",
                                  request_serializer=lambda m: m.SerializeToString(),
                                  response_deserializer=rpc_pb2.WatchResponse.FromString)
    create = rpc_pb2.WatchRequest(create_request=rpc_pb2.WatchCreateRequest(key=b"w"))
    responses = list(watch(iter([create]), timeout=10))
    check(len(responses) == 2 and responses[0].created, "Watch answers created")
    check(len(responses) == 2 and responses[1].events[0].kv.key == b"w" and
          responses[1].events[0].kv.value == b"v1", "Watch streams the event")
    # Many calls in flight on one connection: every one answered, in any order.
    range_method = channel.unary_unary("/etcdserverpb.KV/Range",
                                       request_serializer=lambda m: m.SerializeToString(),
                                       response_deserializer=rpc_pb2.RangeResponse.FromString)
    futures = [range_method.future(rpc_pb2.RangeRequest(key=b"k%d" % i), timeout=20) for i in range(500)]
    keys = [future.result().kvs[0].key for future in futures]
    check(keys == [b"k%d" % i for i in range(500)], "500 concurrent Range calls on one connection")
    channel.close()


def test_python_etcd3(port):
    import etcd3
    client = etcd3.client(host="127.0.0.1", port=port, timeout=10)
    value, meta = client.get("foo")
    check(value == b"bar" and meta.key == b"foo" and meta.mod_revision == 42,
          "python3-etcd3 client.get('foo') decodes our reply")
    client.close()


def test_http1(port):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/health")
    response = connection.getresponse()
    body = response.read()
    check(response.status == 200 and json.loads(body) == {"health": "true"}, "GET /health over HTTP/1.1")
    connection.request("GET", "/nope")  # same connection: keep-alive
    response = connection.getresponse()
    response.read()
    check(response.status == 404, "unknown HTTP path -> 404 on a kept-alive connection")
    connection.close()
    # curl sends "Expect: 100-continue" for bodies over 1 KiB and waits up to 1 s for "100 Continue".
    if shutil.which("curl") is None:
        print("skip POST with Expect: 100-continue: curl is not installed")
        return
    started = time.monotonic()
    done = subprocess.run(["curl", "-s", "-X", "POST", "--data-binary", "@-",
                           f"http://127.0.0.1:{port}/v3/kv/put"],
                          input=b"k" * 5000, capture_output=True, timeout=20)
    check(done.returncode == 0 and json.loads(done.stdout) == {"received": 5000},
          f"POST with a 5000-byte body ({done.stdout!r})")
    check(time.monotonic() - started < 0.9, "curl got 100 Continue (no 1 s wait)")


PREFACE_TIMEOUT_MS = 700
HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def frame(kind, flags, stream_id, payload):
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream_id.to_bytes(4, "big") + payload


def closed_within(sock, seconds):
    """True if the server closes `sock` within `seconds` (whatever it sends first is skipped)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            if sock.recv(65536) == b"":
                return True
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
    return False


def test_misbehaving_clients(port):
    silent = socket.create_connection(("127.0.0.1", port))
    started = time.monotonic()
    check(closed_within(silent, 5), "a connection that sends nothing is closed")
    check(time.monotonic() - started >= PREFACE_TIMEOUT_MS / 1000 * 0.8, "...after the preface deadline")
    partial = socket.create_connection(("127.0.0.1", port))
    partial.sendall(HTTP2_PREFACE[:10])
    check(closed_within(partial, 5), "a partial preface is closed at the deadline")
    garbage = socket.create_connection(("127.0.0.1", port))
    garbage.sendall(b"\x16\x03\x01\x00\xa5\x01\x00\x00")  # a TLS ClientHello on a cleartext port
    check(closed_within(garbage, 1), "garbage is closed at once")
    flood = socket.create_connection(("127.0.0.1", port))
    header_block = b"\x83\x86\x84"
    continuation = frame(9, 0, 1, b"\x00\x03x-a\x01b")
    flood.sendall(HTTP2_PREFACE + frame(4, 0, 0, b"") + frame(1, 0, 1, header_block) + continuation * 100)
    check(closed_within(flood, 2), "a CONTINUATION flood is closed")
    for sock in (silent, partial, garbage, flood):
        sock.close()


def main():
    server_exe, etcdctl = sys.argv[1], sys.argv[2]
    server = subprocess.Popen([server_exe, str(PREFACE_TIMEOUT_MS)], stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        test_etcdctl(etcdctl, port)
        test_grpcio(port)
        test_python_etcd3(port)
        test_http1(port)
        test_misbehaving_clients(port)
        test_http1(port)  # still serving
        check(server.poll() is None, "server still running after every test")
        # An open connection must not keep the server from stopping.
        held = socket.create_connection(("127.0.0.1", port))
        held.sendall(HTTP2_PREFACE + frame(4, 0, 0, b""))
        time.sleep(0.2)
    finally:
        os.kill(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(server.pid, signal.SIGKILL)
            server.wait()
            failures.append("server did not stop on SIGTERM")
    check(server.returncode == 0, f"server exits 0 on SIGTERM (got {server.returncode})")
    if failures:
        print(f"{len(failures)} failure(s)")
        sys.exit(1)


if __name__ == "__main__":
    main()
