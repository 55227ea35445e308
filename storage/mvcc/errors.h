// storage/mvcc/errors.h: the errors the MVCC state machine returns, each with etcd's exact message and
// the gRPC status code etcd uses for it, plus a small Result<T> carrying either a value or an error.
#pragma once

#include <cassert>
#include <string_view>
#include <utility>
#include <variant>

namespace ringkv::storage::mvcc {

enum class Errc {
  ok = 0,
  compacted,            // etcdserver: mvcc: required revision has been compacted      (OutOfRange)
  future_revision,      // etcdserver: mvcc: required revision is a future revision    (OutOfRange)
  lease_not_found,      // etcdserver: requested lease not found                       (NotFound)
  lease_exists,         // etcdserver: lease already exists                            (FailedPrecondition)
  lease_ttl_too_large,  // etcdserver: too large lease TTL                             (OutOfRange)
  key_not_found,        // etcdserver: key not found                                   (InvalidArgument)
  empty_key,            // etcdserver: key is not provided                             (InvalidArgument)
  value_provided,       // etcdserver: value is provided                               (InvalidArgument)
  lease_provided,       // etcdserver: lease is provided                               (InvalidArgument)
  too_many_ops,         // etcdserver: too many operations in txn request              (InvalidArgument)
  duplicate_key,        // etcdserver: duplicate key given in txn request              (InvalidArgument)
  no_space,             // etcdserver: mvcc: database space exceeded                   (ResourceExhausted)
  snapshot_corrupt,     // ringkv: mvcc snapshot is corrupt                            (DataLoss)
  watch_not_found,      // ringkv: watch id not found                                  (NotFound)
  not_primary,          // ringkv: lease renew on a non-leader (forward to the leader) (FailedPrecondition)
};

// gRPC status codes (numeric values from grpc/status.h) so this header needs no gRPC include.
enum class GrpcCode {
  ok = 0, invalid_argument = 3, not_found = 5, failed_precondition = 9, out_of_range = 11,
  resource_exhausted = 8, data_loss = 15,
};

std::string_view error_message(Errc e);
GrpcCode error_grpc_code(Errc e);

template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Errc e) : v_(e) { assert(e != Errc::ok); }  // NOLINT
  bool ok() const { return std::holds_alternative<T>(v_); }
  Errc error() const { return ok() ? Errc::ok : std::get<Errc>(v_); }
  T& value() { assert(ok()); return std::get<T>(v_); }
  const T& value() const { assert(ok()); return std::get<T>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Errc> v_;
};

}  // namespace ringkv::storage::mvcc
