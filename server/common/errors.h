// server/common/errors.h — etcd's gRPC errors (status code + exact message, from etcd 3.4's rpctypes) so that
// clients, which match on the message text, see exactly what etcd would send.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "net/grpc/grpc_status.h"

namespace ringkv::server {

// gRPC status codes: net/grpc's, the one enum of them (grpc/status.h numbering).
using grpc_code = net::grpc::status_code;

struct rpc_status {
  grpc_code code = grpc_code::ok;
  std::string message;
  bool ok() const { return code == grpc_code::ok; }
  friend bool operator==(const rpc_status&, const rpc_status&) = default;
};

// The state machine's answer to one applied entry (or one unary call): a serialized etcdserverpb response, or an error.
class streamed_reply;  // streamed_reply.h

struct apply_result {
  rpc_status status;
  std::string response;
  // A unary reply made in slices instead of `response` (a large Range); null for every other reply.
  std::shared_ptr<streamed_reply> streamed;
};

namespace etcd_errors {
rpc_status empty_key();         // InvalidArgument "etcdserver: key is not provided"
rpc_status key_not_found();     // InvalidArgument "etcdserver: key not found"
rpc_status value_provided();    // InvalidArgument "etcdserver: value is provided"
rpc_status lease_provided();    // InvalidArgument "etcdserver: lease is provided"
rpc_status too_many_ops();      // InvalidArgument "etcdserver: too many operations in txn request"
rpc_status duplicate_key();     // InvalidArgument "etcdserver: duplicate key given in txn request"
rpc_status compacted();         // OutOfRange "etcdserver: mvcc: required revision has been compacted"
rpc_status future_revision();   // OutOfRange "etcdserver: mvcc: required revision is a future revision"
rpc_status no_space();          // ResourceExhausted "etcdserver: mvcc: database space exceeded"
rpc_status lease_not_found();   // NotFound "etcdserver: requested lease not found"
rpc_status lease_exists();      // FailedPrecondition "etcdserver: lease already exists"
rpc_status lease_ttl_too_large();  // OutOfRange "etcdserver: too large lease TTL"
rpc_status request_too_large();    // InvalidArgument "etcdserver: request is too large"
rpc_status too_many_requests();    // ResourceExhausted "etcdserver: too many requests"
rpc_status no_leader();            // Unavailable "etcdserver: no leader"
rpc_status not_leader();           // FailedPrecondition "etcdserver: not leader"
rpc_status stopped();              // Unavailable "etcdserver: server stopped"
rpc_status timeout();              // Unavailable "etcdserver: request timed out"
rpc_status corrupt();              // DataLoss "etcdserver: corrupt cluster"
rpc_status bad_leader_transferee();  // FailedPrecondition "etcdserver: bad leader transferee"
rpc_status auth_not_enabled();       // FailedPrecondition "etcdserver: authentication is not enabled"
rpc_status unimplemented(std::string_view what);  // Unimplemented, naming what is not built
}  // namespace etcd_errors

}  // namespace ringkv::server
