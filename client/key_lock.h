// client/key_lock.h - a lock with python-etcd3's Lock layout (one key "/locks/<name>"; the holder is
// whoever created it, on a lease), so a C++ process and a python `etcd3` process exclude each other.
// Go's concurrency.Mutex (client/mutex.h) uses another layout ("<name>/<lease>"): the two kinds of lock
// do not exclude each other, in any language, so pick the one the other processes use.
//
// Acquire: Txn(create_revision("/locks/<name>") == 0) then Put(key, token, lease) else Get(key); when
// taken, watch the key from the Get's revision until it is deleted, then try again. Release: Txn(value ==
// token) then Delete(key), so a lock lost to lease expiry and taken by another is never released by us.
#pragma once

#include <string>

#include "client/session.h"

namespace ringkv::client {

class key_lock {
 public:
  static constexpr const char* prefix = "/locks/";  // python-etcd3's Lock.lock_prefix

  key_lock(session& s, std::string name);

  runtime::task<status> lock(call_options call = {});      // waits (until call.timeout when non-zero)
  runtime::task<status> try_lock(call_options call = {});  // FAILED_PRECONDITION when another holds it
  runtime::task<status> unlock(call_options call = {});

  const std::string& key() const { return key_; }

 private:
  // One attempt: true when we now hold it; *revision gets the reply's revision.
  runtime::task<result<bool>> attempt(call_options call, int64_t* revision);

  session& session_;
  std::string key_;
  std::string token_;  // our value in the key: tells our hold from another's
  bool held_ = false;
};

}  // namespace ringkv::client
