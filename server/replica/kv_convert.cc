// server/replica/kv_convert.cc — field-by-field mapping between etcd's protobufs and storage/mvcc/types.h.
#include "server/replica/kv_convert.h"

namespace ringkv::server {

void fill_header(etcdserverpb::ResponseHeader* header, const header_ids& ids, int64_t revision) {
  header->set_cluster_id(ids.cluster_id);
  header->set_member_id(ids.member_id);
  header->set_revision(revision);
  header->set_raft_term(ids.raft_term);
}

mvcc::RangeRequest from_proto(const etcdserverpb::RangeRequest& r) {
  mvcc::RangeRequest out;
  out.key = r.key();
  out.range_end = r.range_end();
  out.limit = r.limit();
  out.revision = r.revision();
  out.sort_order = mvcc::SortOrder(r.sort_order());
  out.sort_target = mvcc::SortTarget(r.sort_target());
  out.serializable = r.serializable();
  out.keys_only = r.keys_only();
  out.count_only = r.count_only();
  out.min_mod_revision = r.min_mod_revision();
  out.max_mod_revision = r.max_mod_revision();
  out.min_create_revision = r.min_create_revision();
  out.max_create_revision = r.max_create_revision();
  return out;
}

mvcc::PutRequest from_proto(const etcdserverpb::PutRequest& r) {
  return mvcc::PutRequest{r.key(), r.value(), r.lease(), r.prev_kv(), r.ignore_value(), r.ignore_lease()};
}

mvcc::DeleteRangeRequest from_proto(const etcdserverpb::DeleteRangeRequest& r) {
  return mvcc::DeleteRangeRequest{r.key(), r.range_end(), r.prev_kv()};
}

namespace {

mvcc::Compare compare_from_proto(const etcdserverpb::Compare& c) {
  mvcc::Compare out;
  out.result = mvcc::Compare::Result(c.result());
  out.target = mvcc::Compare::Target(c.target());
  out.key = c.key();
  out.range_end = c.range_end();
  out.version = c.version();
  out.create_revision = c.create_revision();
  out.mod_revision = c.mod_revision();
  out.value = c.value();
  out.lease = c.lease();
  return out;
}

mvcc::RequestOp op_from_proto(const etcdserverpb::RequestOp& op) {
  mvcc::RequestOp out;
  switch (op.request_case()) {
    case etcdserverpb::RequestOp::kRequestRange: out.request = from_proto(op.request_range()); break;
    case etcdserverpb::RequestOp::kRequestPut: out.request = from_proto(op.request_put()); break;
    case etcdserverpb::RequestOp::kRequestDeleteRange:
      out.request = from_proto(op.request_delete_range());
      break;
    case etcdserverpb::RequestOp::kRequestTxn: out.request = from_proto(op.request_txn()); break;
    default: break;  // empty op: monostate (validation rejects it before it gets here)
  }
  return out;
}

template <typename KV>
void kv_to_proto(const KV& kv, mvccpb::KeyValue* out) {
  out->set_key(kv.key.data(), kv.key.size());
  out->set_create_revision(kv.create_revision);
  out->set_mod_revision(kv.mod_revision);
  out->set_version(kv.version);
  out->set_value(kv.value.data(), kv.value.size());
  out->set_lease(kv.lease);
}

template <typename Response>
void range_to_proto(const Response& r, const header_ids& ids, etcdserverpb::RangeResponse* out) {
  fill_header(out->mutable_header(), ids, r.header_revision);
  out->mutable_kvs()->Reserve(int(r.kvs.size()));
  for (const auto& kv : r.kvs) to_proto(kv, out->add_kvs());
  out->set_more(r.more);
  out->set_count(r.count);
}

}  // namespace

mvcc::TxnRequest from_proto(const etcdserverpb::TxnRequest& r) {
  mvcc::TxnRequest out;
  out.compare.reserve(size_t(r.compare_size()));
  for (const auto& c : r.compare()) out.compare.push_back(compare_from_proto(c));
  for (const auto& op : r.success()) out.success.push_back(op_from_proto(op));
  for (const auto& op : r.failure()) out.failure.push_back(op_from_proto(op));
  return out;
}

mvcc::WatchCreateRequest from_proto(const etcdserverpb::WatchCreateRequest& r) {
  mvcc::WatchCreateRequest out;
  out.key = r.key();
  out.range_end = r.range_end();
  out.start_revision = r.start_revision();
  out.prev_kv = r.prev_kv();
  for (int filter : r.filters()) {
    if (filter == etcdserverpb::WatchCreateRequest::NOPUT) out.filter_put = true;
    if (filter == etcdserverpb::WatchCreateRequest::NODELETE) out.filter_delete = true;
  }
  return out;
}

void to_proto(const mvcc::KeyValue& kv, mvccpb::KeyValue* out) { kv_to_proto(kv, out); }
void to_proto(const mvcc::KeyValueView& kv, mvccpb::KeyValue* out) { kv_to_proto(kv, out); }

void to_proto(const mvcc::Event& event, mvccpb::Event* out) {
  out->set_type(event.type == mvcc::Event::Type::put ? mvccpb::Event::PUT : mvccpb::Event::DELETE);
  to_proto(event.kv, out->mutable_kv());
  if (event.prev_kv) to_proto(*event.prev_kv, out->mutable_prev_kv());
}

void to_proto(const mvcc::RangeResponse& r, const header_ids& ids, etcdserverpb::RangeResponse* out) {
  range_to_proto(r, ids, out);
}

void to_proto(const mvcc::RangeViewResponse& r, const header_ids& ids, etcdserverpb::RangeResponse* out) {
  range_to_proto(r, ids, out);
}

void to_proto(const mvcc::PutResponse& r, const header_ids& ids, etcdserverpb::PutResponse* out) {
  fill_header(out->mutable_header(), ids, r.header_revision);
  if (r.prev_kv) to_proto(*r.prev_kv, out->mutable_prev_kv());
}

void to_proto(const mvcc::DeleteRangeResponse& r, const header_ids& ids,
              etcdserverpb::DeleteRangeResponse* out) {
  fill_header(out->mutable_header(), ids, r.header_revision);
  out->set_deleted(r.deleted);
  for (const auto& kv : r.prev_kvs) to_proto(kv, out->add_prev_kvs());
}

void to_proto(const mvcc::TxnResponse& r, const header_ids& ids, etcdserverpb::TxnResponse* out) {
  fill_header(out->mutable_header(), ids, r.header_revision);
  out->set_succeeded(r.succeeded);
  for (const auto& op : r.responses) {
    auto* response = out->add_responses();
    std::visit(
        [&](const auto& inner) {
          using T = std::decay_t<decltype(inner)>;
          if constexpr (std::is_same_v<T, mvcc::RangeResponse>)
            to_proto(inner, ids, response->mutable_response_range());
          else if constexpr (std::is_same_v<T, mvcc::PutResponse>)
            to_proto(inner, ids, response->mutable_response_put());
          else if constexpr (std::is_same_v<T, mvcc::DeleteRangeResponse>)
            to_proto(inner, ids, response->mutable_response_delete_range());
          else
            to_proto(inner, ids, response->mutable_response_txn());
        },
        op.response);
  }
}

}  // namespace ringkv::server
