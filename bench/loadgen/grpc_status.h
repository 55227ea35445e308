// gRPC status codes as numbers and names (the errors table of the summary is keyed by them).
#pragma once

#include <cstdint>

namespace ringkv::bench {

// Codes 0..16 from the gRPC spec; a transport failure with no status (connection reset, timeout
// before any response) is reported as UNAVAILABLE, as grpc-go clients do.
enum class grpc_code : uint8_t {
  ok = 0, cancelled = 1, unknown = 2, invalid_argument = 3, deadline_exceeded = 4, not_found = 5,
  already_exists = 6, permission_denied = 7, resource_exhausted = 8, failed_precondition = 9,
  aborted = 10, out_of_range = 11, unimplemented = 12, internal = 13, unavailable = 14,
  data_loss = 15, unauthenticated = 16,
};

// "OK", "Unavailable", ... (grpc-go's spelling); codes outside 0..16 give "Code(N)"-less "Unknown".
const char* grpc_code_name(grpc_code code);

// Maps a grpc-status trailer value; anything not 0..16 becomes unknown.
grpc_code grpc_code_from_int(long value);

}  // namespace ringkv::bench
