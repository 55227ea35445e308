// runtime/log_writer.cc — the outputs, the bounded queue and the writer thread of runtime/log_writer.h.
#include "runtime/log_writer.h"

#include <pthread.h>
#include <signal.h>

#include <cassert>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <exception>
#include <mutex>
#include <source_location>
#include <thread>

namespace ringkv::log {
namespace {

struct queued_line {
  log_level level;
  std::string caller_dir;
  std::string text;
};

struct writer_state {
  // Held while lines go to the outputs (by the writer thread, or by a logging thread when synchronous).
  std::mutex outputs_mutex;
  std::vector<std::unique_ptr<log_output>> outputs;  // guarded by outputs_mutex

  std::mutex queue_mutex;  // guards everything below
  std::condition_variable lines_queued;  // the writer waits for lines or stopping
  std::condition_variable queue_drained;  // stop waits for an empty queue with no batch in hand
  std::deque<queued_line> queue;
  size_t queued_bytes = 0;  // invariant: <= log_queued_bytes_max
  bool running = false;     // lines go to the queue
  bool stopping = false;
  bool writing = false;     // the writer holds a batch taken from the queue
  bool abandoned = false;   // a stop timed out: the writer may still be stuck in an output; lines are dropped
  uint64_t dropped_unreported = 0;
  std::thread writer;
  std::atomic<uint64_t> dropped_total{0};
};

// Never destroyed: a writer stuck in a slow output at exit must not see its state torn down.
writer_state& state() {
  static writer_state* instance = [] {
    auto* s = new writer_state;
    s->outputs.push_back(std::make_unique<fd_log_output>(2, false));
    return s;
  }();
  return *instance;
}

void write_to_outputs(writer_state& s, log_level level, std::string_view caller_dir, std::string_view line) {
  for (auto& output : s.outputs) output->write_line(level, caller_dir, line);
}

std::string dropped_warning(uint64_t dropped) {
  return format_line(log_level::warn, "dropped log lines: the log outputs are slower than the log",
                     {{"dropped-lines", dropped}, {"queued-bytes-max", uint64_t(log_queued_bytes_max)}},
                     std::source_location::current());
}

void writer_loop(writer_state& s) {
  std::unique_lock lock(s.queue_mutex);
  for (;;) {
    s.lines_queued.wait(lock, [&] { return !s.queue.empty() || s.dropped_unreported || s.stopping; });
    if (s.queue.empty() && !s.dropped_unreported && s.stopping) return;
    std::deque<queued_line> batch;
    batch.swap(s.queue);
    s.queued_bytes = 0;
    const uint64_t dropped = s.dropped_unreported;
    s.dropped_unreported = 0;
    s.writing = true;
    lock.unlock();
    {
      std::lock_guard outputs(s.outputs_mutex);
      for (const auto& line : batch) write_to_outputs(s, line.level, line.caller_dir, line.text);
      if (dropped) write_to_outputs(s, log_level::warn, "runtime", dropped_warning(dropped));
    }
    lock.lock();
    s.writing = false;
    if (s.queue.empty()) s.queue_drained.notify_all();
  }
}

}  // namespace

void set_outputs(std::vector<std::unique_ptr<log_output>> outputs) {
  writer_state& s = state();
  std::lock_guard lock(s.outputs_mutex);
  s.outputs = std::move(outputs);
}

void set_output_fd(int fd) {
  std::vector<std::unique_ptr<log_output>> outputs;
  outputs.push_back(std::make_unique<fd_log_output>(fd, false));
  set_outputs(std::move(outputs));
}

void start_background_writer() {
  writer_state& s = state();
  std::lock_guard lock(s.queue_mutex);
  if (s.running || s.abandoned) return;
  assert(!s.writer.joinable());
  // The writer never takes SIGINT/SIGTERM (runtime/run.cc reads them from a signalfd): it starts with
  // every signal blocked, inherited from this thread's mask for the duration of the spawn.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &previous);
  s.writer = std::thread([&s] { writer_loop(s); });
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  s.running = true;
  s.stopping = false;
  static const bool drain_registered = std::atexit([] { stop_background_writer(); }) == 0;
  (void)drain_registered;
  // std::terminate (an exception escaping a task: runtime/run.cc logs it, then terminates) skips atexit:
  // the queued lines, that one included, go out first.
  static const std::terminate_handler previous_terminate = std::set_terminate([] {
    drain_before_crash();
    if (previous_terminate) previous_terminate();
    std::abort();
  });
}

void drain_before_crash() {
  writer_state& s = state();
  std::unique_lock lock(s.queue_mutex, std::try_to_lock);  // never wait on a lock at crash time
  if (!lock.owns_lock() || !s.running) return;
  s.stopping = true;
  s.lines_queued.notify_one();
  const bool drained = s.queue_drained.wait_for(lock, log_crash_drain_ms_max, [&] {
    return s.queue.empty() && !s.writing && !s.dropped_unreported;
  });
  s.running = false;          // whatever this thread logs next is written by it
  s.abandoned = !drained;
  s.writer.detach();          // it ends by itself once drained; the process is going down
}

bool stop_background_writer(std::chrono::milliseconds drain_max) {
  writer_state& s = state();
  std::unique_lock lock(s.queue_mutex);
  if (!s.running) return true;
  s.stopping = true;
  s.lines_queued.notify_one();
  const bool drained = s.queue_drained.wait_for(lock, drain_max, [&] {
    return s.queue.empty() && !s.writing && !s.dropped_unreported;
  });
  s.running = false;
  if (!drained) {
    s.abandoned = true;  // the writer is stuck in an output: leave it to the process's exit
    s.writer.detach();
    return false;
  }
  lock.unlock();
  s.writer.join();
  return true;
}

uint64_t dropped_lines() { return state().dropped_total.load(std::memory_order_relaxed); }

namespace detail {

void emit(log_level level, std::string_view caller_dir, std::string line) {
  writer_state& s = state();
  std::unique_lock lock(s.queue_mutex);
  if (s.abandoned) {
    s.dropped_total.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (!s.running) {
    lock.unlock();
    std::lock_guard outputs(s.outputs_mutex);
    write_to_outputs(s, level, caller_dir, line);
    return;
  }
  if (s.queued_bytes + line.size() > log_queued_bytes_max) {
    ++s.dropped_unreported;
    s.dropped_total.fetch_add(1, std::memory_order_relaxed);
    s.lines_queued.notify_one();  // reported by the writer once it has taken the queue
    return;
  }
  const bool was_empty = s.queue.empty();
  s.queued_bytes += line.size();
  s.queue.push_back({level, std::string(caller_dir), std::move(line)});
  if (was_empty) s.lines_queued.notify_one();
}

}  // namespace detail
}  // namespace ringkv::log
