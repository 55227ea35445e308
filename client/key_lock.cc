// client/key_lock.cc - python-etcd3's lock protocol (key_lock.h).
#include "client/key_lock.h"

#include "client/kv.h"
#include "client/watch.h"

namespace ringkv::client {

key_lock::key_lock(session& s, std::string name)
    : session_(s), key_(prefix + name), token_(session_key("ringkv-client-", s.lease())) {}

runtime::task<result<bool>> key_lock::attempt(call_options call, int64_t* revision) {
  txn t;
  t.when(compare_create(key_, cmp_op::equal, 0))
      .then(op_put(key_, token_, with_lease(session_.lease())))
      .otherwise(op_get(key_));
  auto committed = co_await kv(session_.owner()).commit(t, call);
  if (!committed.ok()) co_return result<bool>{committed.status, false};
  *revision = committed.value.header().revision();
  held_ = committed.value.succeeded();
  co_return result<bool>{status{}, held_};
}

runtime::task<status> key_lock::try_lock(call_options call) {
  int64_t revision = 0;
  auto taken = co_await attempt(call, &revision);
  if (!taken.ok()) co_return taken.status;
  if (!taken.value) co_return status{grpc_code::failed_precondition, "lock " + key_ + " is held by another"};
  co_return status{};
}

runtime::task<status> key_lock::lock(call_options call) {
  const auto deadline = wait_deadline(call.timeout);
  watch_hub hub(session_.owner());
  status outcome;
  while (true) {
    int64_t revision = 0;
    auto taken = co_await attempt(call, &revision);
    if (!taken.ok() || taken.value) {
      outcome = taken.status;
      break;
    }
    watch_options after;  // the holder's key changes after what we just read
    after.start_revision = revision + 1;
    after.no_put = true;
    auto w = hub.watch(key_, after);
    const auto left = deadline - runtime::clock::now();
    if (left <= std::chrono::nanoseconds::zero()) {
      outcome = status{grpc_code::deadline_exceeded, "context deadline exceeded"};
      break;
    }
    // (No co_await inside a ?: here: GCC 12 destroys such temporaries twice.)
    auto deleted = co_await w->next(left);
    w->cancel();
    if (!deleted.ok()) {
      outcome = deleted.status;
      break;
    }
  }
  co_await hub.close();
  co_return outcome;
}

runtime::task<status> key_lock::unlock(call_options call) {
  if (!held_) co_return status{};
  txn t;
  t.when(compare_value(key_, cmp_op::equal, token_)).then(op_delete(key_));
  auto committed = co_await kv(session_.owner()).commit(t, call);
  if (committed.ok()) held_ = false;
  co_return committed.status;
}

}  // namespace ringkv::client
