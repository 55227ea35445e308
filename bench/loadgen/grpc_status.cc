// gRPC status code names (grpc-go spelling, as etcd's tool prints them).
#include "bench/loadgen/grpc_status.h"

namespace ringkv::bench {

const char* grpc_code_name(grpc_code code) {
  static constexpr const char* names[] = {
      "OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists",
      "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange",
      "Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated"};
  auto index = static_cast<unsigned>(code);
  return index < sizeof(names) / sizeof(names[0]) ? names[index] : "Unknown";
}

grpc_code grpc_code_from_int(long value) {
  if (value < 0 || value > 16) return grpc_code::unknown;
  return static_cast<grpc_code>(value);
}

}  // namespace ringkv::bench
