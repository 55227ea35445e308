// logagent/delivery.h - what travels from a tailer to a sink and back.
//
//   file_tailer --record{end_offset, progress}--> line_sink --(acknowledged)--> file_progress::acked
//                                                                                 -> offset_store
// file_progress keeps the end offsets of a file's records in the order they were sent; the stored
// offset moves only over a prefix of acknowledged records, so a crash repeats lines, never skips one.
// in_flight_budget is the one bound on records handed to a sink and not yet acknowledged: tailers stop
// reading while it is full (backpressure), so a sink that is down costs bounded memory.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>

#include "logagent/offset_store.h"

namespace ringkv::logagent {

struct agent_counters {
  uint64_t lines_read = 0;       // records made from files (a merged multi-line record counts once)
  uint64_t lines_sent = 0;       // acknowledged by the sink
  uint64_t lines_failed = 0;     // delivery attempts the sink reported failed (each is retried)
  uint64_t lines_truncated = 0;  // cut to max_line_bytes
  uint64_t config_errors = 0;    // bad sources seen
};

struct in_flight_budget {
  size_t records_limit = 10000;
  size_t bytes_limit = 32 * 1024 * 1024;
  size_t records = 0;
  size_t bytes = 0;
  bool full() const { return records >= records_limit || bytes >= bytes_limit; }
  void take(size_t payload_bytes) {
    ++records;
    bytes += payload_bytes;
  }
  void give_back(size_t payload_bytes) {
    assert(records > 0 && bytes >= payload_bytes);
    --records;
    bytes -= payload_bytes;
  }
};

class file_progress {
 public:
  file_progress(offset_store& store, file_identity id, file_mark start)
      : store_(store), id_(std::move(id)), mark_(start) {}

  void sent(uint64_t end_offset) {
    assert(pending_.empty() || pending_.back().first < end_offset);
    pending_.emplace_back(end_offset, false);
  }
  // After a copytruncate (or when its tailer is gone) the store entry belongs to a newer reader.
  void detach() { detached_ = true; }
  void acked(uint64_t end_offset) {
    // pending_ is sorted by end offset (asserted in sent()); acknowledgements mostly come in order.
    auto it = std::lower_bound(pending_.begin(), pending_.end(), end_offset,
                               [](const std::pair<uint64_t, bool>& entry, uint64_t offset) { return entry.first < offset; });
    if (it != pending_.end() && it->first == end_offset) it->second = true;
    bool moved = false;
    while (!pending_.empty() && pending_.front().second) {
      mark_.acked_offset = pending_.front().first;
      pending_.pop_front();
      moved = true;
    }
    if (moved && !detached_) store_.set(id_, mark_);
  }
  void set_fingerprint(uint32_t len, uint64_t fingerprint) {
    mark_.fingerprint_len = len;
    mark_.fingerprint = fingerprint;
    if (!detached_) store_.set(id_, mark_);
  }
  const file_mark& mark() const { return mark_; }
  size_t pending() const { return pending_.size(); }

 private:
  offset_store& store_;
  file_identity id_;
  file_mark mark_;
  std::deque<std::pair<uint64_t, bool>> pending_;  // (end offset, acknowledged), in send order
  bool detached_ = false;
};

struct record {
  std::string topic;
  std::string key;      // host + ":" + path: one file's records keep their order (one partition)
  std::string payload;  // a JSON object
  std::shared_ptr<file_progress> progress;
  uint64_t end_offset = 0;
};

// A delivery target. send() never blocks; acknowledgements (and retries) run in poll(), on the agent's
// thread, which calls progress->acked(), budget.give_back() and counts lines_sent.
class line_sink {
 public:
  virtual ~line_sink() = default;
  // Takes the record (the caller took its bytes from the budget, which bounds what a sink holds); a
  // sink that cannot pass it on now keeps it and retries in poll().
  virtual void send(record r) = 0;
  // A delivery error the sink cannot recover from (the process should save offsets and exit).
  virtual const std::string& fatal_error() const = 0;
  virtual void poll() = 0;
  // Shutdown: waits (blocking) up to timeout_ms for every record to be acknowledged.
  virtual void flush(int timeout_ms) = 0;
  virtual const char* name() const = 0;
};

}  // namespace ringkv::logagent
