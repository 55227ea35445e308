// storage/mvcc/errors.cc: etcd's messages and gRPC codes for the MVCC errors.
#include "storage/mvcc/errors.h"

namespace ringkv::storage::mvcc {

std::string_view error_message(Errc e) {
  switch (e) {
    case Errc::ok: return "";
    case Errc::compacted: return "etcdserver: mvcc: required revision has been compacted";
    case Errc::future_revision: return "etcdserver: mvcc: required revision is a future revision";
    case Errc::lease_not_found: return "etcdserver: requested lease not found";
    case Errc::lease_exists: return "etcdserver: lease already exists";
    case Errc::lease_ttl_too_large: return "etcdserver: too large lease TTL";
    case Errc::key_not_found: return "etcdserver: key not found";
    case Errc::empty_key: return "etcdserver: key is not provided";
    case Errc::value_provided: return "etcdserver: value is provided";
    case Errc::lease_provided: return "etcdserver: lease is provided";
    case Errc::too_many_ops: return "etcdserver: too many operations in txn request";
    case Errc::duplicate_key: return "etcdserver: duplicate key given in txn request";
    case Errc::no_space: return "etcdserver: mvcc: database space exceeded";
    case Errc::snapshot_corrupt: return "ringkv: mvcc snapshot is corrupt";
    case Errc::watch_not_found: return "ringkv: watch id not found";
    case Errc::not_primary: return "ringkv: not a primary lessor";
  }
  return "ringkv: unknown mvcc error";
}

GrpcCode error_grpc_code(Errc e) {
  switch (e) {
    case Errc::ok: return GrpcCode::ok;
    case Errc::compacted:
    case Errc::future_revision:
    case Errc::lease_ttl_too_large: return GrpcCode::out_of_range;
    case Errc::lease_not_found:
    case Errc::watch_not_found: return GrpcCode::not_found;
    case Errc::lease_exists:
    case Errc::not_primary: return GrpcCode::failed_precondition;
    case Errc::no_space: return GrpcCode::resource_exhausted;
    case Errc::snapshot_corrupt: return GrpcCode::data_loss;
    case Errc::key_not_found:
    case Errc::empty_key:
    case Errc::value_provided:
    case Errc::lease_provided:
    case Errc::too_many_ops:
    case Errc::duplicate_key: return GrpcCode::invalid_argument;
  }
  return GrpcCode::invalid_argument;
}

}  // namespace ringkv::storage::mvcc
