// net/grpc/call_relay.h — gRPC calls whose connection lives on one shard and whose handler runs on
// another (the "home" shard, where the raft group and the services live). The connection's shard
// serves a relay registry with the same method paths as the home registry; each call opened there gets
// a pair of relay ends:
//
//   connection shard k                                   home shard 0
//   grpc_server_session ─ call C ─ conn_end  ══batch══>  home_end ─ call R (call_output = home_end)
//     request / stream messages / half-close / cancel ─────>  handler(R, request) / R's callbacks
//     C gets the bytes (one move) and trailers  <──────  R.write()s and finish() of one loop turn
//     C drained: "drained up to byte N" ─────────────────>  R.queued_output_bytes() counts the backlog
//
// Everything an end has to say during one loop turn leaves in one item, and all items of a shard for
// one destination shard leave in one cross-shard message (runtime::post_to), flushed at the next
// ready-queue turn. The handler sees an ordinary call_ref: write/finish/alive/queued_output_bytes/
// set_drain_callback behave as on a local call (the backlog counts bytes the connection's shard has
// not drained yet, so a slow reader still stops a watcher).
//
// Lifetime: each end sends exactly one final item (conn: cancel, or done after the finish arrived;
// home: the finish, or done after a cancel arrived) and is freed once it has sent its final item and
// received its peer's: per-pair message order means nothing can arrive for a freed end. An end never
// touches the other shard's objects; the home end holds R (so R's handler can keep its call_ref), the
// connection end holds C and clears C's callbacks before it goes.
#pragma once

#include <chrono>
#include <cstddef>

#include "net/grpc/service_registry.h"
#include "runtime/task.h"

namespace ringkv::net::grpc {

// A registry for connections on a shard other than `home_shard`: the methods of `home` (which must
// outlive it and every call it relays, and is only used on home_shard), each forwarding its calls there.
service_registry make_relay_registry(const service_registry& home, unsigned home_shard);

// Relay ends alive on this shard (both kinds). The home shard waits for zero before the services the
// relayed handlers use go away.
size_t live_relay_ends();
// Waits until no relay end is alive on this shard, or `limit` has passed; true: none is left. Woken by
// the last end's destruction, not by polling.
runtime::task<bool> wait_for_no_relay_ends(std::chrono::milliseconds limit);

}  // namespace ringkv::net::grpc
