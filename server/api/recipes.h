// server/api/recipes.h — the steps the Lock and Election services share, run server-side with the key
// layout of etcd's client recipes (clientv3/concurrency), so clients mixing the services and the
// recipes interoperate:
//   the key of a holder/candidate is  <name>/<lease id in hex>, created with that lease;
//   the holder/leader is the key with the lowest create revision under <name>/.
//
//   acquire: txn{ if create_revision(key) == 0 then put(key, value, lease) ; get(key) }
//            ─> wait_for_turn: until no key under <name>/ is older (re-checked after every applied batch)
//
// Auth (etcd 3.4 runs these recipes through its own client with the caller's token, so the KV checks of
// each step apply): the services check what etcd's steps need before proposing (recipes::permitted), and
// propose as the caller so that the applier checks the txn again at its place in the log:
//   Lock      read+write <name>/<lease>, read <name>/ (its txn reads the owner)     Unlock  write key
//   Campaign  read+write <name>/<lease>, read <name>/ (waiting reads the prefix)
//   Proclaim, Resign  read+write the leader key        Leader, Observe  read <name>/
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "etcd/rpc.pb.h"
#include "runtime/task.h"
#include "server/api/apply_waiters.h"
#include "server/auth/request_checks.h"
#include "server/replica/replica.h"

namespace ringkv::server {

// <prefix><lease id in hex>: the key a holder or candidate creates.
std::string holder_key(const std::string& prefix, int64_t lease);
// etcd's GetPrefixRangeEnd: the smallest key greater than every key with this prefix.
std::string prefix_end(std::string prefix);

// The key a Lock holder or Election candidate holds and the revision that created it.
struct recipe_holder {
  std::string key;
  int64_t create_revision = 0;
};

class recipes {
 public:
  recipes(replica& member, apply_waiters& waiters) : member_(member), waiters_(waiters) {}

  // Lock and Campaign: holds <name>/<lease> (with `value`) and waits until it is the oldest under
  // <name>/. An error when `lease` is 0 or expired, or when the member stops meanwhile.
  // `who` proposes the txn (checked again when applied); the services check permitted() first.
  runtime::task<rpc_status> take_turn(std::string name, int64_t lease, std::string value, recipe_holder& held,
                                      const auth::caller& who);
  // ok when auth is disabled or `who` has `need` over [key, range_end) (range_end empty: the key alone),
  // else etcd's error as its recipes answer it (Unknown "etcdserver: permission denied", ...).
  rpc_status permitted(const auth::caller& who, const std::string& key, const std::string& range_end,
                       auth::access need) const;
  rpc_status prefix_readable(const auth::caller& who, const std::string& prefix) const {
    return permitted(who, prefix, prefix_end(prefix), auth::access::read);
  }
  rpc_status key_read_writable(const auth::caller& who, const std::string& key) const;
  // Until the next applied batch (ok) or the member stops.
  runtime::task<rpc_status> next_apply();
  // The oldest key under `prefix` (by create revision), if any.
  std::optional<mvcc::KeyValue> oldest_under(const std::string& prefix) const;
  // Proposes `txn` and parses its response.
  runtime::task<rpc_status> run_txn(const etcdserverpb::TxnRequest& txn, etcdserverpb::TxnResponse& response,
                                    const auth::caller& who);
  // run_txn of: if create_revision(key) == create_revision then `then` (Proclaim, Resign).
  runtime::task<rpc_status> run_if_created_at(const std::string& key, int64_t create_revision,
                                              etcdserverpb::RequestOp then, etcdserverpb::TxnResponse& response,
                                              const auth::caller& who);

 private:
  // Creates `key` with `lease` (and `value`) unless it exists, then waits for its turn; its create
  // revision goes to `create_revision`.
  runtime::task<rpc_status> acquire(std::string prefix, std::string key, int64_t lease, std::string value,
                                    int64_t& create_revision, const auth::caller& who);
  // Waits until no key under `prefix` was created before `create_revision` (etcd's waitDeletes).
  runtime::task<rpc_status> wait_for_turn(std::string prefix, int64_t create_revision);

  replica& member_;
  apply_waiters& waiters_;
};

}  // namespace ringkv::server
