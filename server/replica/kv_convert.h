// server/replica/kv_convert.h — etcdserverpb/mvccpb protobufs <-> the MVCC store's request/response structs
// (storage/mvcc/types.h mirrors etcd's messages field for field). Response headers are filled by the
// caller (fill_header), since they carry cluster/member ids and the raft term the store doesn't know.
#pragma once

#include "etcd/kv.pb.h"
#include "etcd/rpc.pb.h"
#include "storage/mvcc/types.h"

namespace ringkv::server {

namespace mvcc = ringkv::storage::mvcc;

struct header_ids {
  uint64_t cluster_id = 0;
  uint64_t member_id = 0;
  uint64_t raft_term = 0;
};
void fill_header(etcdserverpb::ResponseHeader* header, const header_ids& ids, int64_t revision);

mvcc::RangeRequest from_proto(const etcdserverpb::RangeRequest& request);
mvcc::PutRequest from_proto(const etcdserverpb::PutRequest& request);
mvcc::DeleteRangeRequest from_proto(const etcdserverpb::DeleteRangeRequest& request);
mvcc::TxnRequest from_proto(const etcdserverpb::TxnRequest& request);
mvcc::WatchCreateRequest from_proto(const etcdserverpb::WatchCreateRequest& request);

void to_proto(const mvcc::KeyValue& kv, mvccpb::KeyValue* out);
void to_proto(const mvcc::KeyValueView& kv, mvccpb::KeyValue* out);
void to_proto(const mvcc::Event& event, mvccpb::Event* out);
// Headers of nested responses (inside a txn) are filled too, with the same ids and revision.
void to_proto(const mvcc::RangeResponse& response, const header_ids& ids, etcdserverpb::RangeResponse* out);
void to_proto(const mvcc::RangeViewResponse& response, const header_ids& ids,
              etcdserverpb::RangeResponse* out);
void to_proto(const mvcc::PutResponse& response, const header_ids& ids, etcdserverpb::PutResponse* out);
void to_proto(const mvcc::DeleteRangeResponse& response, const header_ids& ids,
              etcdserverpb::DeleteRangeResponse* out);
void to_proto(const mvcc::TxnResponse& response, const header_ids& ids, etcdserverpb::TxnResponse* out);

}  // namespace ringkv::server
