// server/frontend/connection_cap.h — how many client connections the member serves at once: the
// descriptor limit (RLIMIT_NOFILE, raised to its hard limit at start by server/process) less a reserve
// for what the member itself must always be able to open (WAL segments and their preallocation,
// snapshot files, peer connections, listeners, the data dir). A connection past the cap is closed at
// once by the listener (net/tcp/listener.h max_connections), so running out of descriptors never stops
// the member's own work.
#pragma once

#include <cstddef>

namespace ringkv::server {

// Descriptors kept out of reach of client connections.
inline constexpr size_t member_reserved_descriptors = 256;
// The cap never falls below this, so a tiny limit still lets clients in (the reserve shrinks instead).
inline constexpr size_t min_client_connections = 16;

// The cap for a descriptor limit of `descriptor_limit`: limit - reserve, at least min_client_connections,
// at most half the limit when the limit is small.
size_t client_connection_cap(size_t descriptor_limit);
// The cap for this process's current soft RLIMIT_NOFILE.
size_t client_connection_cap();

}  // namespace ringkv::server
