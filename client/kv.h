// client/kv.h - the KV service: Range, Put, DeleteRange, Txn, Compact on a client (failover and the
// retry rule of client.h: Range and read-only Txn are retried on another endpoint, writes never after
// they were sent). Results are etcd's typed responses; header().revision() is the store revision.
// Options are taken by reference and default to the named empty objects below, never to a temporary:
// GCC 12 destroys a default-argument temporary of a co_await'ed coroutine call twice (heap corruption).
// Passed options must live until the call's co_await ends, as temporaries in that expression do.
#pragma once

#include <string_view>

#include "client/client.h"
#include "client/txn.h"
#include "etcd/rpc.pb.h"

namespace ringkv::client {

inline const range_options no_range_options{};
inline const put_options no_put_options{};
inline const delete_options no_delete_options{};

class kv {
 public:
  explicit kv(client& c) : client_(c) {}

  runtime::task<result<etcdserverpb::RangeResponse>> range(std::string_view key, const range_options& options = no_range_options,
                                                           call_options call = {});
  runtime::task<result<etcdserverpb::PutResponse>> put(std::string_view key, std::string_view value,
                                                       const put_options& options = no_put_options, call_options call = {});
  runtime::task<result<etcdserverpb::DeleteRangeResponse>> erase(std::string_view key, const delete_options& options = no_delete_options,
                                                                 call_options call = {});
  runtime::task<result<etcdserverpb::TxnResponse>> commit(const txn& t, call_options call = {});
  runtime::task<result<etcdserverpb::CompactionResponse>> compact(int64_t revision, bool physical = false,
                                                                  call_options call = {});

 private:
  client& client_;
};

}  // namespace ringkv::client
