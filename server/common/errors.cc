// server/common/errors.cc — the status/message pairs of server/errors.h.
#include "server/common/errors.h"

namespace ringkv::server {

namespace etcd_errors {
namespace {
rpc_status make(grpc_code code, std::string_view message) { return {code, std::string(message)}; }
}  // namespace

rpc_status empty_key() { return make(grpc_code::invalid_argument, "etcdserver: key is not provided"); }
rpc_status key_not_found() { return make(grpc_code::invalid_argument, "etcdserver: key not found"); }
rpc_status value_provided() { return make(grpc_code::invalid_argument, "etcdserver: value is provided"); }
rpc_status lease_provided() { return make(grpc_code::invalid_argument, "etcdserver: lease is provided"); }
rpc_status too_many_ops() {
  return make(grpc_code::invalid_argument, "etcdserver: too many operations in txn request");
}
rpc_status duplicate_key() {
  return make(grpc_code::invalid_argument, "etcdserver: duplicate key given in txn request");
}
rpc_status compacted() {
  return make(grpc_code::out_of_range, "etcdserver: mvcc: required revision has been compacted");
}
rpc_status future_revision() {
  return make(grpc_code::out_of_range, "etcdserver: mvcc: required revision is a future revision");
}
rpc_status no_space() { return make(grpc_code::resource_exhausted, "etcdserver: mvcc: database space exceeded"); }
rpc_status lease_not_found() { return make(grpc_code::not_found, "etcdserver: requested lease not found"); }
rpc_status lease_exists() { return make(grpc_code::failed_precondition, "etcdserver: lease already exists"); }
rpc_status lease_ttl_too_large() { return make(grpc_code::out_of_range, "etcdserver: too large lease TTL"); }
rpc_status request_too_large() { return make(grpc_code::invalid_argument, "etcdserver: request is too large"); }
rpc_status too_many_requests() { return make(grpc_code::resource_exhausted, "etcdserver: too many requests"); }
rpc_status no_leader() { return make(grpc_code::unavailable, "etcdserver: no leader"); }
rpc_status not_leader() { return make(grpc_code::failed_precondition, "etcdserver: not leader"); }
rpc_status stopped() { return make(grpc_code::unavailable, "etcdserver: server stopped"); }
rpc_status timeout() { return make(grpc_code::unavailable, "etcdserver: request timed out"); }
rpc_status corrupt() { return make(grpc_code::data_loss, "etcdserver: corrupt cluster"); }
rpc_status bad_leader_transferee() {
  return make(grpc_code::failed_precondition, "etcdserver: bad leader transferee");
}
rpc_status auth_not_enabled() {
  return make(grpc_code::failed_precondition, "etcdserver: authentication is not enabled");
}
rpc_status unimplemented(std::string_view what) {
  return make(grpc_code::unimplemented, "ringkv: " + std::string(what) + " is not implemented");
}
}  // namespace etcd_errors

}  // namespace ringkv::server
