// runtime/reactor.cc - the per-shard loop: ready queue, inbound messages, timers, one submit per turn,
// batched completions; plus shutdown (drain, then destroy what is left) and the public reactor.h calls.
#include "runtime/reactor_impl.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <limits>
#include <thread>

#include "runtime/io_faults.h"
#include "runtime/log.h"

namespace ringkv::runtime::detail {

namespace {

constexpr std::size_t inbound_batch_limit = 256;  // messages taken from one queue per turn
constexpr auto drain_poll_interval = std::chrono::milliseconds(1);
constexpr auto drain_recancel_interval = std::chrono::milliseconds(100);
constexpr int internal_close_turns_max = 1000;   // turns to wait for internal reads to come back

thread_local reactor* current_reactor = nullptr;

bool is_write_type(io_op op) noexcept { return op == io_op::write || op == io_op::writev; }

// Lengths (bytes, iovec counts, socklen) travel as 32 bits in every backend (an SQE's len field).
bool length_fits(const op_args& args) noexcept { return args.len <= std::numeric_limits<std::uint32_t>::max(); }

}  // namespace

// ---- smp_system ----

smp_system::smp_system(const reactor_config& cfg)
    : config(cfg),
      shard_count(cfg.shards),
      reactors(std::make_unique<std::atomic<reactor*>[]>(cfg.shards)),
      drained(std::make_unique<std::atomic<bool>[]>(cfg.shards)),
      phase(static_cast<std::ptrdiff_t>(cfg.shards)) {
  queues.reserve(std::size_t{shard_count} * shard_count);
  for (unsigned from = 0; from < shard_count; ++from) {
    for (unsigned to = 0; to < shard_count; ++to) {
      queues.push_back(from == to ? nullptr : std::make_unique<spsc_queue>(cfg.smp_queue_capacity));
    }
  }
}

void smp_system::wake(unsigned shard) noexcept {
  if (reactor* r = reactors[shard].load(std::memory_order_acquire)) r->wake_if_sleeping();
}

void smp_system::wake_always(unsigned shard) noexcept {
  if (reactor* r = reactors[shard].load(std::memory_order_acquire)) r->wake_now();
}

void smp_system::begin_shutdown() noexcept {
  stop_flag().store(true, std::memory_order_release);
  shutting_down.store(true, std::memory_order_release);
  for (unsigned shard = 0; shard < shard_count; ++shard) wake_always(shard);
}

bool smp_system::all_drained() const noexcept {
  for (unsigned shard = 0; shard < shard_count; ++shard) {
    if (!drained[shard].load(std::memory_order_acquire)) return false;
  }
  return true;
}

// ---- ready_queue ----

void ready_queue::grow() {
  std::vector<std::coroutine_handle<>> bigger(slots_.size() * 2);
  for (std::size_t i = 0; i < count_; ++i) bigger[i] = slots_[(head_ + i) & (slots_.size() - 1)];
  slots_.swap(bigger);
  head_ = 0;
}

// ---- reactor: setup ----

reactor::reactor(smp_system& system, unsigned shard)
    : system_(system),
      shard_(shard),
      backend_(make_backend(system.backend, system.config.ring_entries)),
      send_head_(system.shard_count, nullptr),
      send_tail_(system.shard_count, nullptr),
      wake_pending_(system.shard_count, 0) {
  assert(current_reactor == nullptr && "one reactor per thread");
  if (backend_->kind() == io_backend::uring) uring_ = static_cast<uring_backend*>(backend_.get());
  wakeup_fd_ = ::eventfd(0, EFD_CLOEXEC);
  if (wakeup_fd_ < 0) throw setup_error("ringkv runtime: eventfd failed");
  wakeup_read_.owner = this;
  wakeup_read_.on_complete = &wakeup_read_done;
  signal_read_.owner = this;
  signal_read_.on_complete = &signal_read_done;
  current_reactor = this;
  arm_wakeup_read();
  if (shard_ == 0 && system_.signal_fd >= 0) arm_signal_read();
  std::lock_guard lock(lifecycle_mutex());
  system_.reactors[shard_].store(this, std::memory_order_release);
}

reactor::~reactor() {
  close_internal_reads();
  {
    std::lock_guard lock(lifecycle_mutex());  // request_stop() from another thread may be waking us
    system_.reactors[shard_].store(nullptr, std::memory_order_release);
  }
  ::close(wakeup_fd_);
  current_reactor = nullptr;
}

reactor* reactor::current_or_null() noexcept { return current_reactor; }

reactor& reactor::current() noexcept {
  assert(current_reactor != nullptr && "runtime call outside a shard thread (inside runtime::run)");
  return *current_reactor;
}

// ---- internal reads: wakeup eventfd and signalfd ----

void reactor::arm_wakeup_read() {
  backend_->queue_read(wakeup_fd_, &wakeup_value_, sizeof wakeup_value_, &wakeup_read_);
  ++internal_in_flight_;
}

void reactor::arm_signal_read() {
  backend_->queue_read(system_.signal_fd, &signal_info_, sizeof signal_info_, &signal_read_);
  ++internal_in_flight_;
}

void reactor::wakeup_read_done(completion* done, int, std::uint32_t) {
  reactor* self = static_cast<internal_read*>(done)->owner;
  --self->internal_in_flight_;
  if (!self->closing_) self->arm_wakeup_read();
}

void reactor::signal_read_done(completion* done, int result, std::uint32_t) {
  reactor* self = static_cast<internal_read*>(done)->owner;
  --self->internal_in_flight_;
  if (result == static_cast<int>(sizeof(signalfd_siginfo))) request_stop();
  if (!self->closing_) self->arm_signal_read();
}

void reactor::close_internal_reads() {
  closing_ = true;
  if (internal_in_flight_ == 0) return;
  backend_->cancel_all();
  for (int turn = 0; turn < internal_close_turns_max && internal_in_flight_ > 0; ++turn) {
    backend_->submit_and_dispatch(true, std::chrono::milliseconds(10));
  }
}

void reactor::wake_if_sleeping() noexcept {
  if (sleeping_.load(std::memory_order_seq_cst) && sleeping_.exchange(false, std::memory_order_seq_cst)) wake_now();
}

void reactor::wake_now() noexcept {
  const std::uint64_t one = 1;
  [[maybe_unused]] ssize_t written = ::write(wakeup_fd_, &one, sizeof one);
}

// ---- I/O ----

op_start reactor::start_op(op_request& request, std::coroutine_handle<> waiter) {
  assert(!request.in_flight);
  if (draining_) {
    request.result = -ECANCELED;
    schedule(waiter);
    return op_start::deferred;
  }
  if (const int injected = take_injected_fault(request.args.op, request.args.fd); injected != 0) {
    if (!is_write_type(request.args.op)) {
      request.result = -injected;
      return op_start::finished;
    }
    request.injected_error = -injected;
  }
  if (!length_fits(request.args)) {
    request.result = -EINVAL;
    return op_start::finished;
  }
  if (const int rc = uring_ != nullptr ? uring_->queue(request) : backend_->queue(request); rc < 0) {
    request.result = rc;
    return op_start::finished;
  }
  request.waiter = waiter;
  request.on_complete = &complete_op;
  request.on_cancel = &cancel_op;
  request.in_flight = true;
  ++in_flight_;
  return op_start::in_flight;
}

void reactor::complete_op(completion* done, int result, std::uint32_t) {
  auto& request = static_cast<op_request&>(*done);
  assert(request.in_flight);
  request.in_flight = false;
  --current().in_flight_;
  if (request.token != nullptr) request.token->detach(&request);
  request.result = (request.injected_error != 0 && result >= 0) ? request.injected_error : result;
  request.waiter.resume();
}

void reactor::cancel_op(cancellable* op) {
  auto& request = static_cast<op_request&>(*op);
  assert(request.in_flight && "cancel of an operation that is not in flight");
  current().backend_->cancel(request);
}

bool reactor::start_multishot_accept(int listen_fd, completion& done) {
  if (draining_) return false;
  backend_->queue_multishot_accept(listen_fd, &done);
  ++in_flight_;
  return true;
}

// ---- timers ----

bool reactor::arm(timer_entry& entry) {
  if (draining_) return false;
  timers_.push(entry);
  return true;
}

void reactor::disarm(timer_entry& entry) noexcept {
  if (entry.heap_index != not_in_heap) timers_.remove(entry);
}

void reactor::fire_timers() {
  if (timers_.empty()) return;
  const clock::time_point now = clock::now();
  while (timer_entry* due = timers_.pop_expired(now)) due->on_fire(due, 0);
}

std::chrono::nanoseconds reactor::time_to_next_timer() const {
  const timer_entry* next = timers_.earliest();
  if (next == nullptr) return std::chrono::nanoseconds(-1);
  return std::max(std::chrono::nanoseconds(0), next->deadline - clock::now());
}

// ---- detached frames ----

void reactor::link(detached_promise& promise) noexcept {
  assert(!destroying_ && "spawn while the runtime destroys leftover frames");
  promise.prev = nullptr;
  promise.next = detached_head_;
  if (detached_head_ != nullptr) detached_head_->prev = &promise;
  detached_head_ = &promise;
  ++detached_count_;
}

void reactor::unlink(detached_promise& promise) noexcept {
  if (promise.prev != nullptr) promise.prev->next = promise.next;
  else detached_head_ = promise.next;
  if (promise.next != nullptr) promise.next->prev = promise.prev;
  --detached_count_;
}

// ---- cross-shard messages ----

bool reactor::try_send(unsigned to, const smp_message& message) noexcept {
  assert(to < system_.shard_count && to != shard_);
  if (send_head_[to] != nullptr) return false;  // keep per-pair order behind earlier waiters
  if (!system_.queue(shard_, to).try_push(message)) return false;
  wake_pending_[to] = 1;
  return true;
}

void reactor::wait_to_send(send_waiter& waiter) noexcept {
  waiter.next = nullptr;
  if (send_head_[waiter.to] == nullptr) {
    send_head_[waiter.to] = &waiter;
    ++send_waiting_;
  } else {
    send_tail_[waiter.to]->next = &waiter;
  }
  send_tail_[waiter.to] = &waiter;
}

void reactor::flush_send_waiters() {
  if (send_waiting_ == 0) return;
  for (unsigned to = 0; to < system_.shard_count; ++to) {
    if (send_head_[to] == nullptr) continue;
    spsc_queue& queue = system_.queue(shard_, to);
    bool flagged = false;
    for (;;) {
      while (send_head_[to] != nullptr && queue.try_push(send_head_[to]->message)) {
        send_waiter* sent = send_head_[to];
        send_head_[to] = sent->next;
        wake_pending_[to] = 1;
        if (sent->resume_after_push) schedule(sent->resume_after_push);
      }
      if (send_head_[to] == nullptr) {
        --send_waiting_;
        break;
      }
      if (flagged) break;
      // Ask the consumer to wake us once it made room, then look again (it may have just drained).
      queue.producer_waiting.store(true, std::memory_order_seq_cst);
      std::atomic_thread_fence(std::memory_order_seq_cst);
      flagged = true;
    }
  }
}

void reactor::flush_wakeups() noexcept {
  bool any = false;
  for (char pending : wake_pending_) any |= pending != 0;
  if (!any) return;
  std::atomic_thread_fence(std::memory_order_seq_cst);  // pushes before the sleeping_ check
  for (unsigned to = 0; to < system_.shard_count; ++to) {
    if (wake_pending_[to] == 0) continue;
    wake_pending_[to] = 0;
    system_.wake(to);
  }
}

void reactor::drain_inbound() {
  for (unsigned from = 0; from < system_.shard_count; ++from) {
    if (from == shard_) continue;
    spsc_queue& queue = system_.queue(from, shard_);
    smp_message message;
    std::size_t taken = 0;
    while (taken < inbound_batch_limit && queue.try_pop(message)) {
      ++taken;
      message.run(message.context);
    }
    if (taken == 0) continue;
    std::atomic_thread_fence(std::memory_order_seq_cst);  // pops before the producer_waiting check
    if (queue.producer_waiting.load(std::memory_order_relaxed) &&
        queue.producer_waiting.exchange(false, std::memory_order_seq_cst)) {
      system_.wake_always(from);
    }
  }
}

bool reactor::inbound_empty() const noexcept {
  for (unsigned from = 0; from < system_.shard_count; ++from) {
    if (from != shard_ && !system_.queue(from, shard_).empty()) return false;
  }
  return true;
}

// ---- stop ----

void reactor::add_stop_waiter(stop_awaitable& waiter) noexcept {
  waiter.prev = nullptr;
  waiter.next = stop_waiters_;
  if (stop_waiters_ != nullptr) stop_waiters_->prev = &waiter;
  stop_waiters_ = &waiter;
  waiter.linked = true;
}

void reactor::remove_stop_waiter(stop_awaitable& waiter) noexcept {
  if (!waiter.linked) return;
  if (waiter.prev != nullptr) waiter.prev->next = waiter.next;
  else stop_waiters_ = waiter.next;
  if (waiter.next != nullptr) waiter.next->prev = waiter.prev;
  waiter.linked = false;
}

void reactor::notice_stop() {
  if (stop_seen_ || !stop_flag().load(std::memory_order_acquire)) return;
  stop_seen_ = true;
  while (stop_waiters_ != nullptr) {
    stop_awaitable* waiter = stop_waiters_;
    remove_stop_waiter(*waiter);
    schedule(waiter->waiter);
  }
}

// ---- the loop ----

void reactor::run_ready() {
  // Only what is ready now: coroutines that re-queue themselves wait for the next turn, so I/O and
  // messages are never starved.
  for (std::size_t runnable = ready_.size(); runnable > 0; --runnable) ready_.pop().resume();
}

void reactor::turn(std::chrono::nanoseconds wait_limit) {
  run_ready();
  drain_inbound();
  notice_stop();
  fire_timers();
  flush_send_waiters();
  flush_wakeups();

  bool may_sleep = ready_.empty();
  std::chrono::nanoseconds wait = time_to_next_timer();
  if (wait_limit.count() >= 0 && (wait.count() < 0 || wait > wait_limit)) wait = wait_limit;
  if (may_sleep) {
    sleeping_.store(true, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!inbound_empty() || (stop_flag().load(std::memory_order_acquire) && !stop_seen_) ||
        (!draining_ && system_.shutting_down.load(std::memory_order_acquire))) {
      may_sleep = false;
    }
  }
  const bool wait_for_completion = may_sleep && wait.count() != 0;
  if (uring_ != nullptr) uring_->submit_and_dispatch(wait_for_completion, wait);
  else backend_->submit_and_dispatch(wait_for_completion, wait);
  sleeping_.store(false, std::memory_order_relaxed);
}

bool reactor::quiet() const noexcept {
  return detached_count_ == 0 && in_flight_ == 0 && ready_.empty() && send_waiting_ == 0 && inbound_empty();
}

void reactor::drain() {
  draining_ = true;
  notice_stop();
  backend_->cancel_all();
  while (timer_entry* entry = timers_.earliest()) {
    timers_.remove(*entry);
    entry->on_fire(entry, -ECANCELED);
  }
  const clock::time_point deadline = clock::now() + system_.config.shutdown_drain_timeout;
  clock::time_point next_cancel = deadline;
  for (;;) {
    turn(drain_poll_interval);
    const bool nothing_left = quiet();
    system_.drained[shard_].store(nothing_left, std::memory_order_release);
    if (nothing_left && system_.all_drained()) break;
    const clock::time_point now = clock::now();
    if (now < deadline) continue;
    if (in_flight_ == 0) break;  // stragglers are destroyed after the phase barrier
    if (now >= next_cancel) {    // operations the kernel still holds: ask again, wait for them
      backend_->cancel_all();
      next_cancel = now + drain_recancel_interval;
    }
  }
}

void reactor::destroy_leftovers() {
  destroying_ = true;
  ready_.clear();
  std::fill(send_head_.begin(), send_head_.end(), nullptr);
  send_waiting_ = 0;
  while (stop_waiters_ != nullptr) remove_stop_waiter(*stop_waiters_);
  if (detached_count_ > 0) {
    log::warn("destroying tasks still suspended at shutdown",
              {{"shard", shard_}, {"tasks", uint64_t(detached_count_)}});
  }
  // Destroying a detached frame destroys every task it owns; no kernel operation is in flight now.
  assert(in_flight_ == 0);
  while (detached_head_ != nullptr) {
    auto* promise = static_cast<detached_promise*>(detached_head_);
    std::coroutine_handle<detached_promise>::from_promise(*promise).destroy();
  }
  assert(timers_.empty() && "a timer outlived its frame");
  destroying_ = false;
}

void reactor::run() {
  while (!system_.shutting_down.load(std::memory_order_acquire)) turn(std::chrono::nanoseconds(-1));
  drain();
  system_.phase.arrive_and_wait();  // from here on no shard runs task code: frames can go
  destroy_leftovers();
}

}  // namespace ringkv::runtime::detail
