// gRPC status codes and the status a call ends with (sent as grpc-status / grpc-message trailers),
// plus the exact error texts etcd's gRPC server (grpc-go) produces, so clients see the same errors.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ringkv::net::grpc {

enum class status_code : uint8_t {
  ok = 0,
  cancelled = 1,
  unknown = 2,
  invalid_argument = 3,
  deadline_exceeded = 4,
  not_found = 5,
  already_exists = 6,
  permission_denied = 7,
  resource_exhausted = 8,
  failed_precondition = 9,
  aborted = 10,
  out_of_range = 11,
  unimplemented = 12,
  internal = 13,
  unavailable = 14,
  data_loss = 15,
  unauthenticated = 16,
};
inline constexpr int status_code_max = 16;

struct status {
  status_code code = status_code::ok;
  std::string message;

  bool ok() const { return code == status_code::ok; }
  static status success() { return {}; }
};

// grpc-go's texts, as etcd 3.4 returns them (checked against a real etcd):
//   unknown method  -> Unimplemented "unknown method Nope for service etcdserverpb.KV"
//   unknown service -> Unimplemented "unknown service etcdserverpb.Nope"
//   too large       -> ResourceExhausted "grpc: received message larger than max (3145738 vs. 2097152)"
//   bad protobuf    -> Internal "grpc: error unmarshalling request: <reason>"
status unknown_method_status(std::string_view path);
status unknown_service_status(std::string_view service);
status message_too_large_status(size_t message_bytes, size_t limit_bytes);
status malformed_request_status(std::string_view reason);

// grpc-message is percent-encoded (gRPC over HTTP/2 spec): bytes outside 0x20..0x7e and '%'.
void percent_encode_append(std::string& out, std::string_view text);
std::string percent_decode(std::string_view text);

// "0".."16" -> code; anything else -> unknown.
status_code parse_status_code(std::string_view text);
std::string_view status_code_text(status_code code);  // "0".."16"
// grpc-go's names: "OK", "Canceled", "InvalidArgument", ... (Prometheus' grpc_code label, error texts).
const char* status_code_name(status_code code);

}  // namespace ringkv::net::grpc
