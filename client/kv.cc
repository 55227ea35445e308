// client/kv.cc - KV calls (kv.h).
#include "client/kv.h"

namespace ringkv::client {

runtime::task<result<etcdserverpb::RangeResponse>> kv::range(std::string_view key, const range_options& options,
                                                             call_options call) {
  const auto request = make_range(key, options);
  co_return co_await client_.call<etcdserverpb::RangeResponse>(rpc_method::range, request, retry_policy::idempotent, call);
}

runtime::task<result<etcdserverpb::PutResponse>> kv::put(std::string_view key, std::string_view value,
                                                         const put_options& options, call_options call) {
  const auto request = make_put(key, value, options);
  co_return co_await client_.call<etcdserverpb::PutResponse>(rpc_method::put, request, retry_policy::at_most_once, call);
}

runtime::task<result<etcdserverpb::DeleteRangeResponse>> kv::erase(std::string_view key, const delete_options& options,
                                                                   call_options call) {
  const auto request = make_delete(key, options);
  co_return co_await client_.call<etcdserverpb::DeleteRangeResponse>(rpc_method::delete_range, request,
                                                                     retry_policy::at_most_once, call);
}

runtime::task<result<etcdserverpb::TxnResponse>> kv::commit(const txn& t, call_options call) {
  const auto policy = t.read_only() ? retry_policy::idempotent : retry_policy::at_most_once;
  co_return co_await client_.call<etcdserverpb::TxnResponse>(rpc_method::txn, t.request(), policy, call);
}

runtime::task<result<etcdserverpb::CompactionResponse>> kv::compact(int64_t revision, bool physical, call_options call) {
  etcdserverpb::CompactionRequest request;
  request.set_revision(revision);
  request.set_physical(physical);
  co_return co_await client_.call<etcdserverpb::CompactionResponse>(rpc_method::compact, request,
                                                                    retry_policy::at_most_once, call);
}

}  // namespace ringkv::client
