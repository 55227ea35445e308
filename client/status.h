// client/status.h - what every client call ends with: etcd's gRPC code and message (the server's
// grpc-status / grpc-message, or UNAVAILABLE with the errno text when the transport failed, as grpc-go
// reports it), plus `ambiguous`: the request may or may not have been applied (a write whose connection
// failed, or whose deadline passed, after it was sent). result<T> pairs a status with a typed reply.
#pragma once

#include <string>
#include <utility>

#include "net/grpc/grpc_status.h"

namespace ringkv::client {

using grpc_code = net::grpc::status_code;
using net::grpc::status_code_name;

struct status {
  grpc_code code = grpc_code::ok;
  std::string message;
  // Only for failed writes: it was sent and no answer came back, so it may have been applied.
  bool ambiguous = false;

  status() = default;
  status(grpc_code c, std::string m, bool maybe_applied = false)
      : code(c), message(std::move(m)), ambiguous(maybe_applied) {}

  bool ok() const { return code == grpc_code::ok; }
  std::string text() const {
    return std::string(status_code_name(code)) + ": " + message + (ambiguous ? " (outcome unknown)" : "");
  }
};

template <typename T>
struct result {
  client::status status;
  T value{};  // meaningful when status.ok()

  bool ok() const { return status.ok(); }
};

}  // namespace ringkv::client
