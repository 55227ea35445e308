// client/session.cc - session and wait_deletes (session.h).
#include "client/session.h"

#include <cstdio>

#include "client/kv.h"
#include "client/watch.h"

namespace ringkv::client {

runtime::task<result<std::unique_ptr<session>>> session::open(client& c, lease_keeper& keeper, int64_t ttl_s) {
  auto granted = co_await lease_grant(c, ttl_s);
  if (!granted.ok()) co_return result<std::unique_ptr<session>>{granted.status, nullptr};
  std::unique_ptr<session> s(new session(c, keeper, granted.value.id()));
  std::shared_ptr<loss_state> loss = s->loss_;
  if (!keeper.keep(s->lease_, granted.value.ttl(), [loss](int64_t) { loss->lose(); })) {
    co_await lease_revoke(c, s->lease_);
    co_return result<std::unique_ptr<session>>{status{grpc_code::resource_exhausted, "the lease keeper is full"}, nullptr};
  }
  co_return result<std::unique_ptr<session>>{status{}, std::move(s)};
}

runtime::task<status> session::close() {
  keeper_.forget(lease_);
  loss_->callbacks.clear();
  auto revoked = co_await lease_revoke(client_, lease_);
  co_return revoked.status;
}

void session::loss_state::lose() {
  if (lost) return;
  lost = true;
  auto to_run = std::move(callbacks);
  callbacks.clear();
  for (auto& callback : to_run) callback();
  changed.notify_all();
}

runtime::task<bool> session::wait_lost(runtime::clock::time_point deadline) {
  std::shared_ptr<loss_state> loss = loss_;
  co_return co_await loss->changed.wait_until([&loss] { return loss->lost; }, deadline);
}

bool session::on_lost(std::function<void()> callback) {
  if (loss_->lost) {
    callback();
    return true;
  }
  if (loss_->callbacks.size() >= loss_callbacks_limit) return false;
  loss_->callbacks.push_back(std::move(callback));
  return true;
}

runtime::clock::time_point wait_deadline(std::chrono::nanoseconds timeout) {
  constexpr auto forever = std::chrono::hours(24 * 365);
  return runtime::clock::now() + (timeout.count() > 0 ? timeout : std::chrono::nanoseconds(forever));
}

std::string session_key(const std::string& prefix, int64_t lease) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%llx", static_cast<unsigned long long>(lease));
  return prefix + hex;
}

namespace {

// Waits for a DELETE of `key` at or after `revision`.
runtime::task<status> wait_delete(client& c, const std::string& key, int64_t revision,
                                  runtime::clock::time_point deadline) {
  watch_hub hub(c);
  watch_options from;
  from.start_revision = revision;
  auto w = hub.watch(key, from);
  status outcome;
  while (true) {
    const auto left = deadline - runtime::clock::now();
    if (left <= std::chrono::nanoseconds::zero()) {
      outcome = status{grpc_code::deadline_exceeded, "context deadline exceeded"};
      break;
    }
    auto batch = co_await w->next(left);
    if (!batch.ok()) {
      outcome = batch.status;
      break;
    }
    bool deleted = false;
    for (const auto& event : batch.value.events) deleted = deleted || event.type() == mvccpb::Event::DELETE;
    if (deleted) break;
  }
  co_await hub.close();
  co_return outcome;
}

}  // namespace

runtime::task<status> wait_deletes(client& c, const std::string& prefix, int64_t max_create_revision,
                                   runtime::clock::time_point deadline) {
  kv store(c);
  while (true) {
    range_options newest_older;  // Go: WithLastCreate + WithMaxCreateRev
    newest_older.range_end = prefix_end(prefix);
    newest_older.sort_target = etcdserverpb::RangeRequest::CREATE;
    newest_older.sort_order = etcdserverpb::RangeRequest::DESCEND;
    newest_older.limit = 1;
    newest_older.max_create_revision = max_create_revision;
    auto found = co_await store.range(prefix, newest_older);
    if (!found.ok()) co_return found.status;
    if (found.value.kvs_size() == 0) co_return status{};
    const status waited = co_await wait_delete(c, found.value.kvs(0).key(), found.value.header().revision(), deadline);
    if (!waited.ok()) co_return waited;
  }
}

}  // namespace ringkv::client
