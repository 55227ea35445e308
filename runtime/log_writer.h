// runtime/log_writer.h — where runtime/log.h's lines go, and on which thread.
//
// Until start_background_writer(), a line is written by the thread that logs it, to every output in turn
// (tests and tools; one line per write(2), so lines never interleave). The ringkv process starts the
// background writer once its outputs are open: from then on logging formats the line, appends it to a
// bounded queue and returns; one writer thread (all signals blocked) writes queued lines to every output.
// A slow output (a full pipe, a stalled disk, a busy journald) therefore never blocks a shard's reactor:
// it blocks the writer thread, the queue fills up to log_queued_bytes_max, and further lines are dropped
// and counted; once the outputs catch up the writer logs one warning with the count.
//
//   shard threads ──format──> [queue ≤ log_queued_bytes_max] ──writer thread──> stderr, file, journald
//                    (full: dropped, counted)
//
// At exit (atexit, or stop_background_writer()) the queue is drained for at most log_drain_ms_max, then
// logging is synchronous again; std::terminate drains it too (drain_before_crash). Lines still queued
// when the process dies otherwise (abort from a failed assert, a signal) are lost.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/log.h"
#include "runtime/log_output.h"

namespace ringkv::log {

// Bytes of formatted lines waiting for the writer thread; a line that does not fit is dropped.
inline constexpr size_t log_queued_bytes_max = 4 * 1024 * 1024;
// How long stopping the writer waits for the outputs to take the queued lines.
inline constexpr std::chrono::milliseconds log_drain_ms_max{5'000};

// Replaces the outputs (the default: stderr). Called at start-up, before the background writer starts,
// or by tests; an empty list discards every line (etcd's /dev/null).
void set_outputs(std::vector<std::unique_ptr<log_output>> outputs);

void start_background_writer();  // idempotent; registers the drain at exit
// Drains (bounded by `drain_max`) and joins the writer; logging is synchronous afterwards. Returns false
// when the outputs did not take the queue in time (the writer thread is then left to the process's exit).
bool stop_background_writer(std::chrono::milliseconds drain_max = log_drain_ms_max);

// Before the process dies without atexit (std::terminate, which start_background_writer() hooks): lets
// the writer take the queue for at most log_crash_drain_ms_max, without waiting on a lock. Logging is
// synchronous afterwards.
inline constexpr std::chrono::milliseconds log_crash_drain_ms_max{1'000};
void drain_before_crash();

uint64_t dropped_lines();  // since the process started

namespace detail {
// log.cc's hand-off: one formatted line of `level` logged from a file in `caller_dir`.
void emit(log_level level, std::string_view caller_dir, std::string line);
}  // namespace detail

}  // namespace ringkv::log
