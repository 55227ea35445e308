// server/api/apply_waiters.h — coroutines waiting for the store to change: each parks a completion
// here and is woken (ok) after the next applied batch, or with the stop status when the member stops.
// The lock and election recipes wait for their turn this way; etcd_server wakes them.
#pragma once

#include <vector>

#include "runtime/completion.h"
#include "server/common/errors.h"

namespace ringkv::server {

class apply_waiters {
 public:
  // `waiter` lives in the waiting frame until it is set.
  void add(runtime::completion<rpc_status>& waiter) { waiting_.push_back(&waiter); }
  // Wakes everyone waiting now (those that park again wait for the next call).
  void wake_all(const rpc_status& status) {
    std::vector<runtime::completion<rpc_status>*> woken;
    woken.swap(waiting_);
    for (auto* waiter : woken) waiter->set(status);
  }

 private:
  std::vector<runtime::completion<rpc_status>*> waiting_;
};

}  // namespace ringkv::server
