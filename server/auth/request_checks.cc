// server/auth/request_checks.cc — see request_checks.h.
#include "server/auth/request_checks.h"

namespace ringkv::server::auth {
namespace {

auth_errc check(const auth_store& store, const caller& who, std::string_view key, std::string_view range_end,
                access need) {
  return store.op_permitted(who.user, who.auth_revision, key, range_end, need);
}

}  // namespace

auth_errc range_permitted(const auth_store& store, const caller& who, const etcdserverpb::RangeRequest& range) {
  return check(store, who, range.key(), range.range_end(), access::read);
}

auth_errc put_permitted(const auth_store& store, const caller& who, const etcdserverpb::PutRequest& put) {
  if (auth_errc e = check(store, who, put.key(), {}, access::write); e != auth_errc::ok) return e;
  return put.prev_kv() ? check(store, who, put.key(), {}, access::read) : auth_errc::ok;
}

auth_errc delete_permitted(const auth_store& store, const caller& who, const etcdserverpb::DeleteRangeRequest& del) {
  if (auth_errc e = check(store, who, del.key(), del.range_end(), access::write); e != auth_errc::ok) return e;
  return del.prev_kv() ? check(store, who, del.key(), del.range_end(), access::read) : auth_errc::ok;
}

auth_errc txn_permitted(const auth_store& store, const caller& who, const etcdserverpb::TxnRequest& txn) {
  for (const auto& compare : txn.compare())
    if (auth_errc e = check(store, who, compare.key(), compare.range_end(), access::read); e != auth_errc::ok) return e;
  for (const auto* branch : {&txn.success(), &txn.failure()}) {
    for (const auto& op : *branch) {
      auth_errc e = auth_errc::ok;
      if (op.has_request_range()) e = range_permitted(store, who, op.request_range());
      else if (op.has_request_put()) e = put_permitted(store, who, op.request_put());
      else if (op.has_request_delete_range()) e = delete_permitted(store, who, op.request_delete_range());
      else if (op.has_request_txn()) e = txn_permitted(store, who, op.request_txn());
      if (e != auth_errc::ok) return e;
    }
  }
  return auth_errc::ok;
}

}  // namespace ringkv::server::auth
