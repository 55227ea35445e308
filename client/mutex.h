// client/mutex.h - a distributed lock with Go clientv3/concurrency.Mutex's key layout, so C++ and Go
// processes contend for the same lock: each contender puts "<name>/<lease hex>" on its session's
// lease; the holder is the key with the lowest create revision; the others wait for the deletion of
// the next-older key. A holder whose process dies loses the lock when its session lease expires.
#pragma once

#include <string>

#include "client/session.h"

namespace ringkv::client {

class mutex {
 public:
  mutex(session& s, std::string name) : session_(s), prefix_(std::move(name) + "/") {}

  // Waits for the lock (until call.timeout when non-zero; the contender's key is then removed).
  runtime::task<status> lock(call_options call = {});
  // Takes the lock only when it is free: FAILED_PRECONDITION "mutex: Locked by another session" otherwise.
  runtime::task<status> try_lock(call_options call = {});
  runtime::task<status> unlock(call_options call = {});

  // The lock was held and its session is lost (its key is gone: another may hold the lock now).
  bool lost() const { return !key_.empty() && session_.lost(); }
  // Waits (until `timeout`, zero: forever) until the held lock is lost; true when it is. Callbacks:
  // session::on_lost.
  runtime::task<bool> wait_lost(std::chrono::nanoseconds timeout = {});

  const std::string& key() const { return key_; }         // this contender's key while locked
  int64_t header_revision() const { return revision_; }   // create revision of key()

 private:
  // Go's tryAcquire: puts our key if absent; returns the owner's create revision (0: nobody).
  runtime::task<result<int64_t>> acquire(call_options call);

  session& session_;
  std::string prefix_;
  std::string key_;
  int64_t revision_ = 0;
};

}  // namespace ringkv::client
