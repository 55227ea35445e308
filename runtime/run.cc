// runtime/run.cc - runtime::run (threads, signals, startup and teardown) and the small public calls that
// forward to this shard's reactor (spawn, schedule, stop, sends).
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "runtime/log.h"
#include "runtime/reactor_impl.h"

namespace ringkv::runtime {

namespace {

std::atomic<detail::smp_system*> running_system{nullptr};

bool is_power_of_two(unsigned value) { return value != 0 && (value & (value - 1)) == 0; }

void validate(const reactor_config& config) {
  if (config.shards == 0 || config.shards > reactor_config::shards_max) {
    throw std::invalid_argument("reactor_config.shards must be 1.." + std::to_string(reactor_config::shards_max));
  }
  if (!is_power_of_two(config.ring_entries) || config.ring_entries < 8 || config.ring_entries > 32768) {
    throw std::invalid_argument("reactor_config.ring_entries must be a power of two in 8..32768");
  }
  if (!is_power_of_two(config.smp_queue_capacity) || config.smp_queue_capacity < 2) {
    throw std::invalid_argument("reactor_config.smp_queue_capacity must be a power of two >= 2");
  }
  if (config.shutdown_drain_timeout.count() < 0) {
    throw std::invalid_argument("reactor_config.shutdown_drain_timeout must not be negative");
  }
}

void pin_to_cpu(unsigned shard) {
  const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(shard % cpus, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

detail::detached_task run_main(detail::smp_system* system, std::function<task<int>()>* main) {
  try {
    system->exit_code = co_await (*main)();
  } catch (...) {
    system->main_error = std::current_exception();
  }
  system->begin_shutdown();
}

// Blocks SIGINT/SIGTERM in the calling thread (shard threads inherit the mask) and reads them from a
// signalfd in shard 0's ring instead; restores everything on destruction.
class signal_capture {
 public:
  explicit signal_capture(bool enabled) {
    if (!enabled) return;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, &previous_);
    fd_ = ::signalfd(-1, &set, SFD_CLOEXEC);
    if (fd_ < 0) {
      pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
      throw setup_error("ringkv runtime: signalfd failed");
    }
    active_ = true;
  }
  ~signal_capture() {
    if (!active_) return;
    ::close(fd_);
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  int fd() const noexcept { return fd_; }

 private:
  bool active_ = false;
  int fd_ = -1;
  sigset_t previous_{};
};

// Runs one non-zero shard: its reactor is built on its own thread (the ring is single-issuer).
void run_shard_thread(detail::smp_system& system, unsigned shard, std::exception_ptr& setup_failure) {
  if (system.config.pin_threads) pin_to_cpu(shard);
  std::unique_ptr<detail::reactor> shard_reactor;
  try {
    shard_reactor = std::make_unique<detail::reactor>(system, shard);
  } catch (...) {
    setup_failure = std::current_exception();
    system.startup_failed.store(true);
  }
  system.phase.arrive_and_wait();  // startup: every ring is up (or someone failed)
  if (system.startup_failed.load()) return;
  shard_reactor->run();
}

// Shard 0's reactor, on the backend the config (or RINGKV_IO_BACKEND) asks for. `automatic` tries io_uring
// and falls back to epoll when it cannot be set up; every other shard then uses what shard 0 got.
std::unique_ptr<detail::reactor> start_shard0(detail::smp_system& system) {
  io_backend wanted = system.config.backend;
  if (wanted == io_backend::automatic) wanted = detail::backend_from_environment();
  const io_backend requested = wanted;
  std::unique_ptr<detail::reactor> shard0;
  if (wanted == io_backend::automatic) {
    try {
      system.backend = io_backend::uring;
      shard0 = std::make_unique<detail::reactor>(system, 0);
    } catch (const setup_error& refused) {
      log::warn("io_uring unavailable, using the epoll backend", {{"reason", refused.what()}});
      system.backend = io_backend::epoll;
    }
  } else {
    system.backend = wanted;
  }
  if (!shard0) shard0 = std::make_unique<detail::reactor>(system, 0);
  // Debug: a program says it at its own start (the server's "starting an etcd server" line has
  // "io-backend"); a fallback is a warning above. Tests start thousands of runtimes and capture logs.
  log::debug("runtime started", {{"io-backend", to_string(system.backend)},
                                {"requested", to_string(requested)},
                                {"shards", system.shard_count}});
  return shard0;
}

}  // namespace

int run(const reactor_config& config, std::function<task<int>()> main) {
  validate(config);
  if (!main) throw std::invalid_argument("runtime::run needs a main function");
  detail::smp_system system(config);
  {
    std::lock_guard lock(detail::lifecycle_mutex());
    if (running_system.load() != nullptr) throw std::logic_error("runtime::run is already running in this process");
    detail::stop_flag().store(false);
    running_system.store(&system);
  }
  struct release_slot {
    ~release_slot() {
      std::lock_guard lock(detail::lifecycle_mutex());
      running_system.store(nullptr);
    }
  } release;
  signal_capture signals(config.handle_signals);
  system.signal_fd = signals.fd();

  if (config.pin_threads) pin_to_cpu(0);
  auto shard0 = start_shard0(system);  // throws setup_error before any thread
  std::vector<std::exception_ptr> failures(config.shards);
  std::vector<std::thread> threads;
  threads.reserve(config.shards - 1);
  for (unsigned shard = 1; shard < config.shards; ++shard) {
    threads.emplace_back(run_shard_thread, std::ref(system), shard, std::ref(failures[shard]));
  }
  system.phase.arrive_and_wait();
  if (!system.startup_failed.load()) {
    detail::schedule(run_main(&system, &main).frame);
    shard0->run();
  }
  for (std::thread& thread : threads) thread.join();
  shard0.reset();
  for (std::exception_ptr& failure : failures) {
    if (failure) std::rethrow_exception(failure);
  }
  if (system.main_error) std::rethrow_exception(system.main_error);
  return system.exit_code;
}

unsigned this_shard() { return detail::reactor::current().shard(); }
io_backend active_io_backend() { return detail::reactor::current().backend_kind(); }
unsigned shard_count() { return detail::reactor::current().system().shard_count; }
bool on_shard_thread() noexcept { return detail::reactor::current_or_null() != nullptr; }

bool tearing_down() noexcept {
  const detail::reactor* shard = detail::reactor::current_or_null();
  return shard != nullptr && shard->destroying_leftovers();
}

bool stop_requested() noexcept {
  detail::smp_system* system = running_system.load(std::memory_order_acquire);
  return system != nullptr && detail::stop_flag().load(std::memory_order_acquire);
}

void request_stop() noexcept {
  // Callable from any thread, even while run() is starting or tearing down: the lifecycle mutex keeps
  // the system and its reactors alive while we wake them.
  std::lock_guard lock(detail::lifecycle_mutex());
  detail::smp_system* system = running_system.load(std::memory_order_acquire);
  if (system == nullptr) return;
  detail::stop_flag().store(true, std::memory_order_release);
  for (unsigned shard = 0; shard < system->shard_count; ++shard) system->wake_always(shard);
}

stop_awaitable::~stop_awaitable() {
  if (linked) detail::reactor::current().remove_stop_waiter(*this);
}

void stop_awaitable::await_suspend(std::coroutine_handle<> suspended) {
  waiter = suspended;
  detail::reactor::current().add_stop_waiter(*this);
}

namespace detail {

std::mutex& lifecycle_mutex() noexcept {
  static std::mutex mutex;
  return mutex;
}

std::atomic<bool>& stop_flag() noexcept {
  static std::atomic<bool> flag{false};
  return flag;
}

void schedule(std::coroutine_handle<> frame) { reactor::current().schedule(frame); }

op_start start_op(op_request& request, std::coroutine_handle<> waiter) {
  return reactor::current().start_op(request, waiter);
}

bool try_send(unsigned to, const smp_message& message) noexcept { return reactor::current().try_send(to, message); }
void wait_to_send(send_waiter& waiter) noexcept { reactor::current().wait_to_send(waiter); }

detached_promise::detached_promise() { reactor::current().link(*this); }
detached_promise::~detached_promise() { reactor::current().unlink(*this); }

void detached_promise::unhandled_exception() const noexcept {
  try {
    throw;
  } catch (const std::exception& error) {
    log::error("exception escaped a detached task", {{"error", error.what()}});
  } catch (...) {
    log::error("unknown exception escaped a detached task");
  }
  assert(false && "detached tasks must catch their own exceptions");
  std::terminate();
}

detached_task run_detached(task<void> work) { co_await work; }

}  // namespace detail
}  // namespace ringkv::runtime
