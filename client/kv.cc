// client/kv.cc - KV calls (kv.h).
#include "client/kv.h"

namespace ringkv::client {

runtime::task<result<etcdserverpb::RangeResponse>> kv::range(std::string_view key, const range_options& options,
                                                             call_options call) {
  const auto request = make_range(key, options);
  result<etcdserverpb::RangeResponse> out;
  out.status = co_await client_.unary(rpc_method::range, request, &out.value, retry_policy::idempotent, call);
  co_return out;
}

runtime::task<result<etcdserverpb::PutResponse>> kv::put(std::string_view key, std::string_view value,
                                                         const put_options& options, call_options call) {
  const auto request = make_put(key, value, options);
  result<etcdserverpb::PutResponse> out;
  out.status = co_await client_.unary(rpc_method::put, request, &out.value, retry_policy::at_most_once, call);
  co_return out;
}

runtime::task<result<etcdserverpb::DeleteRangeResponse>> kv::erase(std::string_view key, const delete_options& options,
                                                                   call_options call) {
  const auto request = make_delete(key, options);
  result<etcdserverpb::DeleteRangeResponse> out;
  out.status = co_await client_.unary(rpc_method::delete_range, request, &out.value, retry_policy::at_most_once, call);
  co_return out;
}

runtime::task<result<etcdserverpb::TxnResponse>> kv::commit(const txn& t, call_options call) {
  const auto policy = t.read_only() ? retry_policy::idempotent : retry_policy::at_most_once;
  result<etcdserverpb::TxnResponse> out;
  out.status = co_await client_.unary(rpc_method::txn, t.request(), &out.value, policy, call);
  co_return out;
}

runtime::task<result<etcdserverpb::CompactionResponse>> kv::compact(int64_t revision, bool physical, call_options call) {
  etcdserverpb::CompactionRequest request;
  request.set_revision(revision);
  request.set_physical(physical);
  result<etcdserverpb::CompactionResponse> out;
  out.status = co_await client_.unary(rpc_method::compact, request, &out.value, retry_policy::at_most_once, call);
  co_return out;
}

}  // namespace ringkv::client
