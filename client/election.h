// client/election.h - leader election with Go clientv3/concurrency.Election's key layout: a candidate
// puts "<name>/<lease hex>" = value on its session's lease; the leader is the key under "<name>/" with
// the lowest create revision; a candidate becomes leader when every older key is deleted.
#pragma once

#include <string>

#include "client/session.h"
#include "etcd/kv.pb.h"

namespace ringkv::client {

class election {
 public:
  election(session& s, std::string name) : session_(s), prefix_(std::move(name) + "/") {}

  // Waits to become leader (until call.timeout when non-zero), announcing `value`.
  runtime::task<status> campaign(std::string value, call_options call = {});
  // Changes the leader's value; FAILED_PRECONDITION "election: not leader" when we are not.
  runtime::task<status> proclaim(std::string value, call_options call = {});
  runtime::task<status> resign(call_options call = {});
  // The current leader's key and value; NOT_FOUND "election: no leader" when there is none.
  runtime::task<result<mvccpb::KeyValue>> leader(call_options call = {});
  // Observe: waits (until `timeout`, zero: forever) for a leader different from `known` (another key,
  // or the same key with a newer value) and returns it.
  runtime::task<result<mvccpb::KeyValue>> next_leader(const mvccpb::KeyValue& known, std::chrono::nanoseconds timeout = {});

  // A campaign's key was put and its session is lost (the key is gone: another may lead now).
  bool lost() const { return !key_.empty() && session_.lost(); }
  // Waits (until `timeout`, zero: forever) until the campaign is lost that way; true when it is.
  runtime::task<bool> wait_lost(std::chrono::nanoseconds timeout = {});

  const std::string& key() const { return key_; }

 private:
  session& session_;
  std::string prefix_;
  std::string key_;
  int64_t revision_ = 0;  // create revision of key_
};

}  // namespace ringkv::client
