// server/auth/password_worker.cc — see password_worker.h.
#include "server/auth/password_worker.h"

#include <openssl/crypto.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>

#include "runtime/io.h"
#include "server/auth/password_hash.h"

namespace ringkv::server::auth {

unsigned password_worker::threads_count() {
  return std::clamp(std::thread::hardware_concurrency() / 2, 1u, threads_max);
}

password_worker::~password_worker() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wanted_.notify_all();
  for (std::thread& thread : threads_) thread.join();
}

runtime::task<std::optional<std::string>> password_worker::hash(std::string password, int cost) {
  job work;
  work.password = std::move(password);
  work.cost = cost;
  bool ran = co_await run(work);
  if (!ran || work.failed) co_return std::nullopt;
  co_return std::move(work.hash_out);
}

runtime::task<std::optional<bool>> password_worker::verify(std::string password, std::string hash) {
  job work;
  work.password = std::move(password);
  work.hash_in = std::move(hash);
  bool ran = co_await run(work);
  if (!ran) co_return std::nullopt;
  co_return work.matched;
}

runtime::task<bool> password_worker::run(job& work) {
  if (jobs_ >= jobs_waiting_max) co_return false;
  int sockets[2];
  // Blocking sockets, as the runtime expects (its epoll backend makes them non-blocking itself).
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) != 0) co_return false;
  work.notify_fd = sockets[1];
  ++jobs_;
  {
    std::lock_guard lock(mutex_);
    if (threads_.empty())
      for (unsigned i = 0; i < threads_count(); ++i) threads_.emplace_back([this] { work_loop(); });
    queue_.push_back(&work);
  }
  wanted_.notify_one();
  char byte = 0;
  int received = 0;
  do {
    received = co_await runtime::io::recv(sockets[0], &byte, 1);
  } while (received == -EINTR);
  assert(received == 1 && "the worker sends one byte per job, after storing its result");
  --jobs_;
  ::close(sockets[0]);
  ::close(sockets[1]);
  co_return true;
}

void password_worker::work_loop() {
  for (;;) {
    job* work = nullptr;
    {
      std::unique_lock lock(mutex_);
      wanted_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      work = queue_.front();
      queue_.pop_front();
    }
    compute(*work);
    char byte = 1;
    while (::send(work->notify_fd, &byte, 1, MSG_NOSIGNAL) < 0 && errno == EINTR) {
    }
  }
}

void password_worker::compute(job& work) {
  if (work.cost > 0) {
    auto hashed = bcrypt_hash(work.password, work.cost);
    work.failed = !hashed;
    if (hashed) work.hash_out = std::move(*hashed);
  } else {
    work.matched = bcrypt_verify(work.password, work.hash_in);
  }
  OPENSSL_cleanse(work.password.data(), work.password.size());
}

}  // namespace ringkv::server::auth
