// storage/mvcc/txn.cc: Txn as etcd applies it. The gRPC-level checks (op count budget, empty keys,
// put/delete overlaps via checkIntervals), then at apply: the whole path of compares (nested txns
// included) is evaluated against the state before the txn, the chosen ops are checked (ignore_* key
// existence, leases, range revisions), and only then applied, all under one main revision.
#include <algorithm>
#include <set>

#include "storage/mvcc/store.h"

namespace ringkv::storage::mvcc {
namespace {

struct Interval {  // etcd adt.StringAffineInterval; a point key is [key, key + "\0")
  std::string begin, end;
  bool point;
  bool contains(std::string_view k) const { return point ? k == begin : (begin <= k && k < end); }
};

Errc check_txn_request(const TxnRequest& r, int64_t max_ops);

Errc check_request_op(const RequestOp& op, int64_t max_ops) {
  return std::visit(
      [&](const auto& req) -> Errc {
        using T = std::decay_t<decltype(req)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return Errc::key_not_found;  // etcd: empty RequestOp -> ErrGRPCKeyNotFound
        } else if constexpr (std::is_same_v<T, RangeRequest>) {
          return MvccStore::validate_range(req);
        } else if constexpr (std::is_same_v<T, PutRequest>) {
          return MvccStore::validate_put(req);
        } else if constexpr (std::is_same_v<T, DeleteRangeRequest>) {
          return MvccStore::validate_delete_range(req);
        } else {
          return check_txn_request(req, max_ops);
        }
      },
      op.request);
}

Errc check_txn_request(const TxnRequest& r, int64_t max_ops) {
  int64_t opc = static_cast<int64_t>(std::max({r.compare.size(), r.success.size(), r.failure.size()}));
  if (opc > max_ops) return Errc::too_many_ops;
  for (const auto& c : r.compare) {
    if (c.key.empty()) return Errc::empty_key;
  }
  for (const auto* ops : {&r.success, &r.failure}) {
    for (const auto& op : *ops) {
      if (Errc e = check_request_op(op, max_ops - opc); e != Errc::ok) return e;
    }
  }
  return Errc::ok;
}

bool any_contains(const std::vector<Interval>& dels, std::string_view k) {
  return std::any_of(dels.begin(), dels.end(), [&](const Interval& i) { return i.contains(k); });
}

// etcd api/v3rpc/key.go checkIntervals: no key may be put twice, nor put and deleted, on one path.
Errc check_intervals(const std::vector<RequestOp>& reqs, std::set<std::string>& puts, std::vector<Interval>& dels) {
  for (const auto& op : reqs) {
    if (const auto* d = std::get_if<DeleteRangeRequest>(&op.request)) {
      dels.push_back(Interval{d->key, d->range_end, d->range_end.empty()});
    }
  }
  for (const auto& op : reqs) {
    const auto* t = std::get_if<TxnRequest>(&op.request);
    if (t == nullptr) continue;
    std::set<std::string> puts_then, puts_else;
    std::vector<Interval> dels_then, dels_else;
    if (Errc e = check_intervals(t->success, puts_then, dels_then); e != Errc::ok) return e;
    if (Errc e = check_intervals(t->failure, puts_else, dels_else); e != Errc::ok) return e;
    for (const auto& k : puts_then) {
      if (puts.contains(k) || any_contains(dels, k)) return Errc::duplicate_key;
      puts.insert(k);
    }
    for (const auto& k : puts_else) {
      if (puts.contains(k) && !puts_then.contains(k)) return Errc::duplicate_key;
      if (any_contains(dels, k)) return Errc::duplicate_key;
      puts.insert(k);
    }
    dels.insert(dels.end(), dels_then.begin(), dels_then.end());
    dels.insert(dels.end(), dels_else.begin(), dels_else.end());
  }
  for (const auto& op : reqs) {
    const auto* p = std::get_if<PutRequest>(&op.request);
    if (p == nullptr) continue;
    if (puts.contains(p->key) || any_contains(dels, p->key)) return Errc::duplicate_key;
    puts.insert(p->key);
  }
  return Errc::ok;
}

template <class T>
int compare3(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

}  // namespace

Errc MvccStore::validate_txn(const TxnRequest& r, int64_t max_txn_ops) {
  if (Errc e = check_txn_request(r, max_txn_ops); e != Errc::ok) return e;
  for (const auto* ops : {&r.success, &r.failure}) {
    std::set<std::string> puts;
    std::vector<Interval> dels;
    if (Errc e = check_intervals(*ops, puts, dels); e != Errc::ok) return e;
  }
  return Errc::ok;
}

bool MvccStore::compare_holds(const Compare& c) const {
  auto holds = [&](const KeyValueView& kv) {
    int result = 0;
    switch (c.target) {
      case Compare::Target::value: result = compare3(kv.value, std::string_view(c.value)); break;
      case Compare::Target::create: result = compare3(kv.create_revision, c.create_revision); break;
      case Compare::Target::mod: result = compare3(kv.mod_revision, c.mod_revision); break;
      case Compare::Target::version: result = compare3(kv.version, c.version); break;
      case Compare::Target::lease: result = compare3(kv.lease, c.lease); break;
    }
    switch (c.result) {
      case Compare::Result::equal: return result == 0;
      case Compare::Result::not_equal: return result != 0;
      case Compare::Result::greater: return result > 0;
      case Compare::Result::less: return result < 0;
    }
    return true;
  };
  bool all = true;
  int64_t n = visit_range(c.key, c.range_end, read_rev(), [&](key_id_t, const KeyEntry& e, const Version& v) {
    if (all && !holds(view_of(e, v))) all = false;
  });
  if (n == 0) {
    // A missing key compares as an all-zero KeyValue, except that a value compare always fails.
    return c.target != Compare::Target::value && holds(KeyValueView{});
  }
  return all;
}

void MvccStore::compare_to_path(const TxnRequest& t, std::vector<bool>& path) const {
  bool ok = std::all_of(t.compare.begin(), t.compare.end(), [&](const Compare& c) { return compare_holds(c); });
  path.push_back(ok);
  for (const auto& op : ok ? t.success : t.failure) {
    if (const auto* nested = std::get_if<TxnRequest>(&op.request)) compare_to_path(*nested, path);
  }
}

// etcd checkRequests with checkRequestPut and checkRequestRange, along the chosen path.
Errc MvccStore::check_txn_ops(const TxnRequest& t, const std::vector<bool>& path, size_t& at) const {
  bool ok = path[at++];
  for (const auto& op : ok ? t.success : t.failure) {
    if (const auto* nested = std::get_if<TxnRequest>(&op.request)) {
      if (Errc e = check_txn_ops(*nested, path, at); e != Errc::ok) return e;
    } else if (const auto* p = std::get_if<PutRequest>(&op.request)) {
      if (p->ignore_value || p->ignore_lease) {
        key_id_t id = hash_.find(p->key);
        if (id == no_key_id || !live(keys_[id])) return Errc::key_not_found;
      }
      if (p->lease != no_lease && !leases_.contains(p->lease)) return Errc::lease_not_found;
    } else if (const auto* r = std::get_if<RangeRequest>(&op.request)) {
      if (r->revision == 0) continue;
      if (r->revision > current_rev_) return Errc::future_revision;
      if (r->revision < compact_rev_) return Errc::compacted;
    }
  }
  return Errc::ok;
}

RangeResponse MvccStore::range_in_txn(const RangeRequest& r) {
  Result<RangeResponse> res = range(r);
  // Revisions were checked against the pre-txn state, so a range inside the txn cannot fail.
  assert(res.ok());
  return res.ok() ? std::move(res.value()) : RangeResponse{};
}

void MvccStore::apply_txn(const TxnRequest& t, const std::vector<bool>& path, size_t& at, TxnResponse& resp) {
  resp.succeeded = path[at++];
  const auto& ops = resp.succeeded ? t.success : t.failure;
  resp.responses.reserve(ops.size());
  for (const auto& op : ops) {
    if (const auto* r = std::get_if<RangeRequest>(&op.request)) {
      resp.responses.push_back(ResponseOp{range_in_txn(*r)});
    } else if (const auto* p = std::get_if<PutRequest>(&op.request)) {
      resp.responses.push_back(ResponseOp{put_core(*p)});
    } else if (const auto* d = std::get_if<DeleteRangeRequest>(&op.request)) {
      resp.responses.push_back(ResponseOp{delete_core(*d)});
    } else if (const auto* nested = std::get_if<TxnRequest>(&op.request)) {
      TxnResponse inner;  // etcd leaves a nested txn's header unset: header_revision stays 0
      apply_txn(*nested, path, at, inner);
      resp.responses.push_back(ResponseOp{std::move(inner)});
    }
  }
}

Result<TxnResponse> MvccStore::txn(const TxnRequest& r) {
  if (Errc e = validate_txn(r, config_.max_txn_ops); e != Errc::ok) return e;
  std::vector<bool> path;
  compare_to_path(r, path);
  size_t at = 0;
  if (Errc e = check_txn_ops(r, path, at); e != Errc::ok) return e;
  TxnResponse resp;
  begin_write();
  at = 0;
  apply_txn(r, path, at, resp);
  end_write();
  resp.header_revision = current_rev_;
  return resp;
}

}  // namespace ringkv::storage::mvcc
