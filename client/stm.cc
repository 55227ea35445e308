// client/stm.cc - Go's concurrency.STM protocol (stm.h).
#include "client/stm.h"

#include <algorithm>
#include <cassert>
#include <utility>

#include "client/kv.h"

namespace ringkv::client {
namespace {

bool pins_snapshot(isolation level) {
  return level == isolation::serializable_snapshot || level == isolation::serializable;
}

}  // namespace

void stm::reset() {
  reads_.clear();
  writes_.clear();
  snapshot_revision_ = 0;
}

runtime::task<result<const stm::read*>> stm::fetch(std::string_view key) {
  if (auto known = reads_.find(key); known != reads_.end()) co_return result<const read*>{status{}, &known->second};
  read got;
  if (auto early = prefetched_.find(key); early != prefetched_.end()) {
    got = std::move(early->second);
    prefetched_.erase(early);
  } else {
    range_options options;
    if (pins_snapshot(options_.level) && snapshot_revision_ != 0) {  // Go: WithRev(first read), WithSerializable
      options.revision = snapshot_revision_;
      options.serializable = true;
    }
    auto answer = co_await kv(client_).range(key, options, options_.call);
    if (!answer.ok()) co_return result<const read*>{answer.status, nullptr};
    got.header_revision = answer.value.header().revision();
    if (answer.value.kvs_size() > 0) {
      got.mod_revision = answer.value.kvs(0).mod_revision();
      got.value = answer.value.kvs(0).value();
    }
  }
  if (pins_snapshot(options_.level) && snapshot_revision_ == 0) snapshot_revision_ = got.header_revision;
  auto stored = reads_.insert_or_assign(std::string(key), std::move(got)).first;
  co_return result<const read*>{status{}, &stored->second};
}

runtime::task<result<std::string>> stm::get(std::string_view key) {
  if (auto written = writes_.find(key); written != writes_.end()) {
    co_return result<std::string>{status{}, written->second.erase ? std::string() : written->second.value};
  }
  auto got = co_await fetch(key);
  if (!got.ok()) co_return result<std::string>{got.status, {}};
  co_return result<std::string>{status{}, got.value->value};
}

runtime::task<result<int64_t>> stm::mod_revision(std::string_view key) {
  auto got = co_await fetch(key);
  if (!got.ok()) co_return result<int64_t>{got.status, 0};
  co_return result<int64_t>{status{}, got.value->mod_revision};
}

void stm::put(std::string_view key, std::string_view value, const put_options& options) {
  writes_.insert_or_assign(std::string(key), write{std::string(value), false, options});
}

void stm::erase(std::string_view key) { writes_.insert_or_assign(std::string(key), write{{}, true, {}}); }

txn stm::commit_txn() const {
  txn t;
  if (options_.level != isolation::read_committed) {
    for (const auto& [key, seen] : reads_) t.when(compare_mod(key, cmp_op::equal, seen.mod_revision));
  }
  if (options_.level == isolation::serializable_snapshot && !reads_.empty()) {
    // Go's wset.cmps(rset.first() + 1): no key written changed after the earliest read.
    int64_t first = reads_.begin()->second.header_revision;
    for (const auto& [key, seen] : reads_) first = std::min(first, seen.header_revision);
    for (const auto& [key, written] : writes_) t.when(compare_mod(key, cmp_op::less, first + 1));
  }
  for (const auto& [key, written] : writes_) {
    t.then(written.erase ? op_delete(key) : op_put(key, written.value, written.options));
  }
  if (pins_snapshot(options_.level)) {
    for (const auto& [key, seen] : reads_) t.otherwise(op_get(key));  // prefetched for the next run
  }
  return t;
}

void stm::prefetch(const etcdserverpb::TxnResponse& failed) {
  prefetched_.clear();
  if (!pins_snapshot(options_.level)) return;
  assert(static_cast<size_t>(failed.responses_size()) == reads_.size() && "one else-branch Range per key read");
  int index = 0;
  for (const auto& [key, seen] : reads_) {
    const auto& range = failed.responses(index++).response_range();
    read fresh;
    fresh.header_revision = failed.header().revision();
    if (range.kvs_size() > 0) {
      fresh.mod_revision = range.kvs(0).mod_revision();
      fresh.value = range.kvs(0).value();
    }
    prefetched_.emplace(key, std::move(fresh));
  }
}

runtime::task<result<etcdserverpb::TxnResponse>> run_stm(client& c, std::function<runtime::task<status>(stm&)> apply,
                                                         stm_options options) {
  stm s(c, options);
  kv store(c);
  for (uint32_t attempt = 0; attempt < options.attempts_limit; ++attempt) {
    s.reset();
    const status applied = co_await apply(s);
    if (!applied.ok()) co_return result<etcdserverpb::TxnResponse>{applied, {}};
    const txn guarded = s.commit_txn();
    auto committed = co_await store.commit(guarded, options.call);
    if (!committed.ok() || committed.value.succeeded()) co_return committed;
    s.prefetch(committed.value);
  }
  co_return result<etcdserverpb::TxnResponse>{status{grpc_code::aborted, "stm: too many conflicts"}, {}};
}

}  // namespace ringkv::client
