"""tests/cluster/peer_proxy.py - a userspace TCP proxy in front of each member's peer port, to partition
a cluster on loopback without privileges.

Each member advertises the proxy's port in --initial-cluster and listens on a private port behind it,
so every raft frame to that member goes through its proxy. The proxy learns which member sent a
connection from the first frame's header (net/peer/frame.h: [u32 len][u64 xxh3][u64 cluster][u64 from]
[u64 to]...) and forwards bytes both ways unless the (from, to) pair is blocked. A blocked pair is a
blackhole, not a reset: its connections stay open but nothing is read or forwarded (the sender's
kernel soon sees a zero window, as with a cable pulled out), and new connections of that pair are held
the same way. heal() lets the held bytes flow again; raft copes with the delayed, stale messages.

The proxies run on one asyncio loop in a daemon thread of the test process; stop() closes them all.
"""
import asyncio
import struct
import threading

FRAME_LEAD_BYTES = 36  # prefix (12) + header (cluster, from, to: 24)
READ_BYTES = 65536
BLOCKED_POLL_S = 0.02


class PeerProxies:
    """Proxies for a set of members: listen port -> (member id, upstream port)."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.servers = []
        self.blocked = set()  # (from id, to id); read from the loop thread, replaced whole (no lock needed)
        self.tasks = set()
        self.forwarded_bytes = 0

    def add(self, listen_port, upstream_port):
        """Starts a proxy on 127.0.0.1:listen_port to 127.0.0.1:upstream_port."""
        async def start():
            server = await asyncio.start_server(
                lambda r, w: self._serve(r, w, upstream_port), "127.0.0.1", listen_port, reuse_address=True)
            self.servers.append(server)
        asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)

    def isolate(self, member_id, member_ids):
        """Blocks every pair between member_id and the others, both directions."""
        pairs = set(self.blocked)
        for other in member_ids:
            if other != member_id:
                pairs.add((member_id, other))
                pairs.add((other, member_id))
        self.blocked = pairs

    def partition(self, *groups):
        """Blocks every pair of members that are not in the same group (lists of member ids)."""
        group_of = {member: i for i, group in enumerate(groups) for member in group}
        self.blocked = {(a, b) for a in group_of for b in group_of if group_of[a] != group_of[b]}

    def heal(self):
        self.blocked = set()

    def stop(self):
        async def close():
            for server in self.servers:
                server.close()
            for task in list(self.tasks):
                task.cancel()
            await asyncio.sleep(0)
        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    async def _serve(self, reader, writer, upstream_port):
        task = asyncio.current_task()
        self.tasks.add(task)
        upstream = None
        try:
            lead = await reader.readexactly(FRAME_LEAD_BYTES)
            sender, receiver = struct.unpack_from("<QQ", lead, 20)
            pair, reverse = (sender, receiver), (receiver, sender)
            while pair in self.blocked:  # a new connection of a blocked pair is held, unanswered
                await asyncio.sleep(BLOCKED_POLL_S)
            up_reader, upstream = await asyncio.open_connection("127.0.0.1", upstream_port)
            upstream.write(lead)
            await asyncio.gather(self._pump(reader, upstream, pair), self._pump(up_reader, writer, reverse))
        except (asyncio.IncompleteReadError, ConnectionError, OSError, asyncio.CancelledError):
            pass
        finally:
            for w in (writer, upstream):
                if w is not None:
                    w.close()
            self.tasks.discard(task)

    async def _pump(self, source, sink, pair):
        try:
            while True:
                while pair in self.blocked:
                    await asyncio.sleep(BLOCKED_POLL_S)
                data = await source.read(READ_BYTES)
                if not data:
                    break
                while pair in self.blocked:  # read just before the block: hold it too
                    await asyncio.sleep(BLOCKED_POLL_S)
                sink.write(data)
                self.forwarded_bytes += len(data)
                await sink.drain()
        finally:
            sink.close()
