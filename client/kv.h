// client/kv.h - the KV service: Range, Put, DeleteRange, Txn, Compact on a client (failover and the
// retry rule of client.h: Range and read-only Txn are retried on another endpoint, writes never after
// they were sent). Results are etcd's typed responses; header().revision() is the store revision.
#pragma once

#include <string_view>

#include "client/client.h"
#include "client/txn.h"
#include "etcd/rpc.pb.h"

namespace ringkv::client {

class kv {
 public:
  explicit kv(client& c) : client_(c) {}

  runtime::task<result<etcdserverpb::RangeResponse>> range(std::string_view key, range_options options = {},
                                                           call_options call = {});
  runtime::task<result<etcdserverpb::PutResponse>> put(std::string_view key, std::string_view value,
                                                       put_options options = {}, call_options call = {});
  runtime::task<result<etcdserverpb::DeleteRangeResponse>> erase(std::string_view key, delete_options options = {},
                                                                 call_options call = {});
  runtime::task<result<etcdserverpb::TxnResponse>> commit(const txn& t, call_options call = {});
  runtime::task<result<etcdserverpb::CompactionResponse>> compact(int64_t revision, bool physical = false,
                                                                  call_options call = {});

 private:
  client& client_;
};

}  // namespace ringkv::client
