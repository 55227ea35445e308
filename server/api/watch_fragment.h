// server/api/watch_fragment.h — how etcd 3.4 splits a large WatchResponse for a watcher created with
// fragment=true (v3rpc/watch.go sendFragments), as a pure plan over sizes so it can be tested alone.
// A response under max_bytes, or with fewer than two events, goes whole. Otherwise pieces take events
// in order while the piece stays under max_bytes; each piece has at least one event (a single event
// larger than the limit goes alone); every piece but the last carries fragment=true.
#pragma once

#include <cassert>
#include <cstddef>
#include <span>
#include <vector>

namespace ringkv::server {

// base_bytes: the encoded response without events (with fragment=true set); event_bytes[i]: what
// event i adds (tag + length + body); whole_bytes: the encoded response as it would go whole.
// Returns the end index (exclusive) of each piece; one piece = send whole.
inline std::vector<size_t> plan_watch_fragments(size_t whole_bytes, size_t base_bytes,
                                                std::span<const size_t> event_bytes, size_t max_bytes) {
  if (whole_bytes < max_bytes || event_bytes.size() < 2) return {event_bytes.size()};
  std::vector<size_t> ends;
  size_t next = 0;
  while (next < event_bytes.size()) {
    size_t bytes = base_bytes;
    size_t end = next;
    while (end < event_bytes.size()) {
      if (end > next && bytes + event_bytes[end] >= max_bytes) break;
      bytes += event_bytes[end];
      ++end;
    }
    assert(end > next);
    ends.push_back(end);
    next = end;
  }
  return ends;
}

}  // namespace ringkv::server
