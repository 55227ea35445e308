// server/auth/password_worker.h — runs bcrypt (password_hash.h) on its own threads so that UserAdd,
// UserChangePassword and Authenticate never stall the raft shard, which applies every write:
//
//   raft shard (coroutine)                          worker threads (threads_count())
//   job{password, ...} + socketpair ──[bounded FIFO]──> pop, bcrypt (tens of ms), store the result,
//   co_await recv(job's socket) ...                     send one byte on the job's other socket
//   resumed: read the result, close both sockets <──────┘
//
// The coroutine sleeps in an ordinary socket read of its reactor (io_uring or epoll alike), so the
// runtime needs no new wake-up path. A job owns two descriptors while it waits; jobs are limited
// (jobs_waiting_max): beyond it the caller gets etcd's "too many requests". Created and used on one
// shard; destroyed after the coroutines using it ended (the destructor joins the threads).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "runtime/task.h"

namespace ringkv::server::auth {

class password_worker {
 public:
  // bcrypt is CPU-bound: half the cores (at least 1, at most threads_max), so that Authenticate bursts
  // leave the shards cores to run on.
  static constexpr unsigned threads_max = 8;
  static unsigned threads_count();
  static constexpr size_t jobs_waiting_max = 256;    // queued or running; beyond: too many requests

  password_worker() = default;
  ~password_worker();
  password_worker(const password_worker&) = delete;
  password_worker& operator=(const password_worker&) = delete;

  // A bcrypt hash of `password`; nullopt when too many jobs wait or hashing failed.
  runtime::task<std::optional<std::string>> hash(std::string password, int cost);
  // Whether `password` matches `hash`; nullopt when too many jobs wait.
  runtime::task<std::optional<bool>> verify(std::string password, std::string hash);

 private:
  struct job {
    std::string password;
    std::string hash_in;  // verify: the stored hash
    int cost = 0;         // hash: the bcrypt cost; 0 = verify
    std::string hash_out;
    bool matched = false;
    bool failed = false;
    int notify_fd = -1;   // the worker sends one byte here when the result is stored
  };
  runtime::task<bool> run(job& work);  // false: not run (too many jobs, no descriptors)
  void work_loop();
  static void compute(job& work);

  std::mutex mutex_;
  std::condition_variable wanted_;
  std::deque<job*> queue_;  // guarded by mutex_
  bool stopping_ = false;   // guarded by mutex_
  size_t jobs_ = 0;         // raft shard only: queued or running jobs
  std::vector<std::thread> threads_;  // started on first use
};

}  // namespace ringkv::server::auth
