#!/usr/bin/python3
"""tests/server/stalled_watch_client.py - many Watch streams from one process that its caller stops
(SIGSTOP) and later continues (SIGCONT): the slow-watcher client of tests/server/slow_watchers_test.py and
bench/fairness/slow_watchers.py, for ringkv and real etcd alike.

    stalled_watch_client.py ENDPOINT STREAMS CHANNELS START_REVISION

1. Opens STREAMS Watch streams spread over CHANNELS connections (grpc.aio), each with one watcher on every
   key from START_REVISION, and prints {"ready": STREAMS} once every watcher is created.
2. Reads one line from stdin, {"until": REVISION, "timeout_s": S} (meanwhile the caller stops this
   process, writes, and continues it), then reads every stream until it saw REVISION or was canceled.
3. Checks that each stream got every revision from START_REVISION on exactly once and in order (the
   caller makes one put per revision) and prints one summary line:
   {"streams", "complete", "canceled", "cancels": [distinct cancel answers], "stopped_before": [lowest
   and highest revision a canceled stream still needed], "events", "errors": [first few]}.
"""
import asyncio
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from etcd_stubs import load_rpc_stubs  # noqa: E402

import grpc  # noqa: E402

rpc_pb2, STUBS_DIR = load_rpc_stubs("ringkv-stalled-client-")
ERRORS_KEPT = 5
MESSAGE_BYTES_MAX = 64 * 1024 * 1024


class Stream:
    def __init__(self, channel, start_revision):
        watch = channel.stream_stream("/etcdserverpb.Watch/Watch",
                                      request_serializer=rpc_pb2.WatchRequest.SerializeToString,
                                      response_deserializer=rpc_pb2.WatchResponse.FromString)
        self.call = watch()
        self.expected = start_revision  # the next revision this stream must see
        self.outcome = "open"           # complete, canceled, broken
        self.cancel = None
        self.events = 0

    async def create(self, start_revision):
        request = rpc_pb2.WatchCreateRequest(key=b"\0", range_end=b"\0", start_revision=start_revision)
        await self.call.write(rpc_pb2.WatchRequest(create_request=request))
        response = await self.call.read()
        if response is grpc.aio.EOF or not response.created or response.canceled:
            raise RuntimeError("watch not created: %s" % response)

    async def read_until(self, until, errors):
        while self.expected <= until:
            response = await self.call.read()
            if response is grpc.aio.EOF:
                self.outcome = "broken"
                errors.append("stream ended at %d" % self.expected)
                return
            if response.canceled:
                self.outcome = "canceled"
                self.cancel = {"header_revision": response.header.revision, "watch_id": response.watch_id,
                               "canceled": True, "created": response.created,
                               "compact_revision": response.compact_revision,
                               "cancel_reason": response.cancel_reason, "events": len(response.events)}
                return
            for event in response.events:
                if event.kv.mod_revision != self.expected:
                    self.outcome = "broken"
                    errors.append("got revision %d, expected %d" % (event.kv.mod_revision, self.expected))
                    return
                self.expected += 1
                self.events += 1
        self.outcome = "complete"


async def main(endpoint, stream_count, channel_count, start_revision):
    options = [("grpc.max_receive_message_length", MESSAGE_BYTES_MAX)]
    channels = [grpc.aio.insecure_channel(endpoint, options=options) for _ in range(channel_count)]
    streams = [Stream(channels[i % channel_count], start_revision) for i in range(stream_count)]
    await asyncio.gather(*(s.create(start_revision) for s in streams))
    print(json.dumps({"ready": stream_count}), flush=True)

    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    order = json.loads(line)
    errors = []
    reads = asyncio.gather(*(s.read_until(order["until"], errors) for s in streams))
    try:
        await asyncio.wait_for(reads, order.get("timeout_s", 60))
    except asyncio.TimeoutError:
        errors.append("timed out: %d streams incomplete" % sum(s.outcome == "open" for s in streams))
    canceled = [s for s in streams if s.outcome == "canceled"]
    cancels = []
    for s in canceled:
        if s.cancel not in cancels:
            cancels.append(s.cancel)
    summary = {
        "streams": stream_count,
        "complete": sum(s.outcome == "complete" for s in streams),
        "canceled": len(canceled),
        "cancels": cancels,
        "stopped_before": [min(s.expected for s in canceled), max(s.expected for s in canceled)] if canceled else [],
        "events": sum(s.events for s in streams),
        "errors": errors[:ERRORS_KEPT],
    }
    print(json.dumps(summary), flush=True)
    # Leaves at once: the streams end with the process (the server sees the connections close); an
    # orderly grpc.aio shutdown with many open streams does not finish.
    shutil.rmtree(STUBS_DIR, ignore_errors=True)
    os._exit(0)


if __name__ == "__main__":
    try:
        asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])))
    finally:
        shutil.rmtree(STUBS_DIR, ignore_errors=True)
